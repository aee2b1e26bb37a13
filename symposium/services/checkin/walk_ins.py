"""Walk-ins: someone who is not registered comes to the door, and an organiser adds them.

A walk-in is a registration like any other, made through ``registration.lifecycle.register``
with the same rules (the profession may join the session, the register numbers are valid,
capacity and quotas hold), except that registration may have closed and there is no waiting
list: a full session is refused, unless an organiser of the event overrides it with a written
reason (``registration.places.check_override``). They are checked in at once (``Via.WALK_IN``)
and get the usual confirmation mail with their ticket, so the next session's door knows them.

Idempotent: the form's submission key makes a double submit find the registration made the
first time, and the scan's client id (derived from that key) records one presence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session as DbSession

from symposium.models import Registration, Session, SessionKind, User, Via
from symposium.services.accounts import access
from symposium.services.checkin import presence
from symposium.services.checkin.answers import Answer, Verdict
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.registration import lifecycle
from symposium.services.registration.places import check_override
from symposium.services.registration.validation import RegistrationInput


@dataclass
class WalkIn:
    registration: Registration
    answer: Answer
    # False when the same form came again: nothing new was recorded.
    created: bool


def client_id_for(submission_key: str) -> str:
    """The scan's client id of a walk-in form: one per form, so a resubmit is one scan."""
    return f"walk-in-{submission_key}"[: presence.CLIENT_ID_LENGTH]


def walk_in(
    db: DbSession,
    actor: User,
    session: Session,
    data: RegistrationInput,
    now: datetime,
    secret_key: str,
    *,
    override_reason: str | None = None,
) -> WalkIn:
    """Register ``data`` into ``session`` and check them in; the caller commits.

    ``data.sessions`` is set here (the session, unless it is plenary); ``override_reason``
    (not None) puts them in even when the session or event is full.
    """
    event = session.event
    if not access.can(actor, access.MANAGE, event):
        raise RuleError(
            "walk_in_not_allowed", _l("Only an organiser can add someone at the door."),
            status=403,
        )  # fmt: skip
    if override_reason is not None:
        check_override(actor, override_reason, event)
    if not data.submission_key:
        raise RuleError(
            "invalid_submission_key",
            _l("This form could not be checked; reload the page and send it again."),
            "submission_key",
        )
    if session.is_cancelled:
        raise RuleError("session_cancelled", _l("This session has been cancelled."), "session")
    data.sessions = [] if session.kind is SessionKind.PLENARY else [session.id]
    outcome = lifecycle.register(
        db, event, data, now, secret_key, at_door=True, over_capacity=override_reason is not None
    )
    registration = outcome.registration
    answer = presence.scan(
        db, actor, session, client_id=client_id_for(data.submission_key), now=now,
        registration_id=registration.id, via=Via.WALK_IN,
    )  # fmt: skip
    if answer.verdict not in (Verdict.WELCOME, Verdict.ALREADY):
        # Registered but not admitted (another round's place, say): take it all back.
        raise RuleError("walk_in_refused", answer.reason_text or _l("Not admitted."), "session")
    if outcome.created and not answer.replayed:
        note = session.key + (f" — override: {override_reason.strip()}" if override_reason else "")
        audit.record_participant(db, actor, registration, "walk_in", now, note=note)
    return WalkIn(registration, answer, created=outcome.created and not answer.replayed)
