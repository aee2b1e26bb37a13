"""What a registration must contain: fields, register numbers, and a valid choice of sessions.

The one home of eligibility (who may join which session, one per round, no overlaps) and of
when an event takes registrations. Reads the programme from its cached rules
(``programme.rules``), so a warm check runs no queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, EventStatus, Profession, Session, SessionKind
from symposium.services.accreditation import numbers
from symposium.services.core.errors import RuleError
from symposium.services.core.text import has_control, single_line_problem
from symposium.services.privacy.statement import version_of
from symposium.services.programme.public import EventHead
from symposium.services.programme.rules import ProfessionRule, SessionRule, rules_for

LANGUAGES = ("nl", "en")


PHONE = re.compile(r"\+?[0-9 ()./-]{6,40}")


LIMITS = {"name": 200, "organisation": 200, "phone": 40, "needs": 2000, "identifier": 40}
# The form's hidden key against double submits (Registration.submission_key, String(64)).
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Everything but the needs is one line: a name with a line break could forge lines in mail.
MULTI_LINE = frozenset({"needs"})


class RegistrationInvalid(RuleError):
    """Several fields are wrong at once; ``errors`` has one entry per problem."""

    def __init__(self, errors: list[RuleError]):
        first = errors[0] if errors else RuleError("invalid", "Invalid input.")
        super().__init__(first.code, first.message, first.field, first.status)
        self.errors = errors


@dataclass
class RegistrationInput:
    name: str
    email: str
    profession: str
    consent: bool
    organisation: str = ""
    phone: str = ""
    needs: str = ""
    language: str = "nl"
    identifiers: dict[str, str] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)
    submission_key: str | None = None
    # The privacy statement version the form showed (None: not asked, as in the API).
    privacy_version: str | None = None
    # The person confirmed a number the checks warned about (a BIG number of another
    # profession): accepted as given.
    numbers_confirmed: bool = False


def enrollable(session: Session | SessionRule) -> bool:
    """Plenary sessions are for everyone registered; workshops and groups are chosen.

    A cancelled session takes no one.
    """
    return session.kind is not SessionKind.PLENARY and not session.is_cancelled


def choosable(sessions: Iterable[Session], profession: Profession) -> list[Session]:
    """The sessions someone of ``profession`` may choose, in programme order: the one filter
    the registration form and the manage page offer choices with."""
    return [s for s in sessions if enrollable(s) and s.admits(profession)]


def check_open(event: Event | EventHead, now: datetime) -> None:
    """Refuse when the event does not take registrations at ``now``."""
    if event.status is EventStatus.CANCELLED:
        raise RuleError("event_cancelled", _l("This event has been cancelled."), status=409)
    if event.status is not EventStatus.PUBLISHED:
        raise RuleError("registration_closed", _l("Registration is closed."), status=409)
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        raise RuleError("registration_not_open", _l("Registration has not opened yet."), status=409)
    closes = event.registration_closes_at or event.starts_at
    if now > closes or now > event.starts_at:
        raise RuleError("registration_closed", _l("Registration is closed."), status=409)


def check_door_open(event: Event | EventHead) -> None:
    """Refuse a walk-in (added at the door, after registration closed) when the event is not
    on: cancelled, or not published."""
    if event.status is EventStatus.CANCELLED:
        raise RuleError("event_cancelled", _l("This event has been cancelled."), status=409)
    if event.status is not EventStatus.PUBLISHED:
        raise RuleError("event_not_published", _l("This event is not published."), status=409)


OPEN = "open"


def registration_state(event: Event | EventHead, now: datetime) -> str:
    """:data:`OPEN`, or the code :func:`check_open` refuses with ("registration_not_open",
    "registration_closed", "event_cancelled"): a page says when registration opens or that it
    has closed, and a cached page is kept per state, so "opens on" cannot outlive the opening
    nor reappear once registration has closed."""
    try:
        check_open(event, now)
    except RuleError as exc:
        return exc.code
    return OPEN


def is_open(event: Event | EventHead, now: datetime) -> bool:
    """Whether the event takes registrations at ``now`` (pages ask; :func:`check_open` refuses)."""
    return registration_state(event, now) == OPEN


def overlaps(a: SessionRule, b: SessionRule) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.intervals for s2, e2 in b.intervals)


def check_choice(
    event_id: int,
    profession: ProfessionRule,
    chosen: list[SessionRule],
    field_name: str = "sessions",
) -> None:
    """Eligibility, one session per round and no two overlapping sessions."""
    seen_rounds: dict[int, SessionRule] = {}
    for i, session in enumerate(chosen):
        if session.event_id != event_id:
            raise RuleError("unknown_session", _l("Unknown session."), field_name)
        if session.is_cancelled:
            raise RuleError("session_cancelled", _l("This session has been cancelled."), field_name)
        if not enrollable(session):
            raise RuleError("not_enrollable", _l("Plenary sessions need no choice."), field_name)
        if not session.admits(profession.id):
            raise RuleError(
                "not_eligible",
                _l("%(profession)s may not join “%(session)s”.",
                   profession=profession.name(_locale()), session=session.title),
                field_name,
            )  # fmt: skip
        if session.round_id is not None:
            if session.round_id in seen_rounds:
                raise RuleError(
                    "round_conflict",
                    _l("Choose one session per round (%(round)s).", round=session.round_title),
                    field_name,
                )
            seen_rounds[session.round_id] = session
        for other in chosen[:i]:
            if overlaps(session, other):
                raise RuleError(
                    "time_conflict",
                    _l("“%(a)s” and “%(b)s” take place at the same time.", a=other.title,
                       b=session.title),
                    field_name,
                )  # fmt: skip


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nl")


def check_numbers(
    profession: ProfessionRule, identifiers: dict[str, str], confirmed: bool
) -> dict[str, str]:
    """The register numbers alone (a registrant correcting them later): normalised, or
    :class:`RegistrationInvalid` listing the problems."""
    errors: list[RuleError] = []
    data = RegistrationInput("", "", profession.code, True, identifiers=identifiers,
                             numbers_confirmed=confirmed)  # fmt: skip
    found = _numbers(profession, data, lambda c, m, f: errors.append(RuleError(c, m, f)))
    if errors:
        raise RegistrationInvalid(errors)
    return found


def _numbers(
    profession: ProfessionRule, data: RegistrationInput, fail: Callable[[str, object, str], None]
) -> dict[str, str]:
    """The register numbers this event asks of ``profession``, normalised
    (``accreditation.numbers``); a number a register needs, when missing, and a BIG number
    of another profession, unless confirmed, are problems."""
    identifiers: dict[str, str] = {}
    invalid = False
    for register in profession.registers:
        try:
            parsed = numbers.parse(register, data.identifiers.get(register.code, ""))
        except RuleError as exc:
            fail(exc.code, exc.message, exc.field or "")
            invalid = True
            continue
        if parsed.value:
            identifiers[register.code] = parsed.value
    if invalid:
        return identifiers
    names = {r.code: r for r in profession.registers}
    for group in profession.required:
        if not any(code in identifiers for code in group):
            first = names[group[0]]
            fail(
                "identifier_required",
                _l("Enter your %(identifier)s, needed for your accreditation points.",
                   identifier=first.identifier_name(_locale())),
                f"identifier_{first.code}",
            )  # fmt: skip
            return identifiers
    given = numbers.big_mismatch(numbers.split(identifiers.get("BIG")), profession.big_codes)
    if given is not None and not data.numbers_confirmed:
        fail("identifier_unexpected", numbers.big_warning(given, profession.big_codes),
             "identifier_BIG")  # fmt: skip
    return identifiers


Fail = Callable[[str, object, str], None]


def check_texts(texts: dict[str, str], fail: Fail) -> None:
    """No invisible control characters, and one line except in the needs."""
    for key, value in texts.items():
        if has_control(value):
            fail("invalid_text", _l("Remove the invisible control characters."), key)
        elif key not in MULTI_LINE and single_line_problem(value):
            fail("invalid_text", _l("Use one line: remove the line breaks."), key)


def check_person(name: str, organisation: str, phone: str, needs: str, fail: Fail) -> None:
    """The person's own details, at registration and when they correct them later."""
    if not name.strip():
        fail("invalid_name", _l("Enter your name."), "name")
    values = {"name": name, "organisation": organisation, "phone": phone, "needs": needs}
    for key, value in values.items():
        if len(value) > LIMITS[key]:
            fail("field_too_long", _l("At most %(num)d characters.", num=LIMITS[key]), key)
    if phone.strip() and not PHONE.fullmatch(phone.strip()):
        fail("invalid_phone", _l("Enter a phone number with digits only."), "phone")


def checked_email(text: str, fail: Fail) -> str:
    """The address as stored (normalised, lower case), or "" after reporting it."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        fail("invalid_email", _l("Enter a valid e-mail address."), "email")
        return ""


@dataclass
class Checked:
    email: str
    profession: ProfessionRule
    identifiers: dict[str, str]
    sessions: list[SessionRule]


def validate(db: DbSession, event: Event, data: RegistrationInput) -> Checked:
    """Check every field; raise :class:`RegistrationInvalid` listing all problems.

    Reads the programme from its cached copy (``programme.rules``): no queries once warm.
    """
    errors: list[RuleError] = []

    def fail(code: str, message: object, field_name: str) -> None:
        errors.append(RuleError(code, message, field_name))

    texts = {k: getattr(data, k) for k in ("name", "email", "organisation", "phone", "needs")}
    texts |= {f"identifier_{code}": value for code, value in data.identifiers.items()}
    check_texts(texts, fail)
    if data.submission_key is not None and not SUBMISSION_KEY.fullmatch(data.submission_key):
        fail(
            "invalid_submission_key",
            _l("This form could not be checked; reload the page and send it again."),
            "submission_key",
        )
    check_person(data.name, data.organisation, data.phone, data.needs, fail)
    email = checked_email(data.email, fail)
    if data.language not in LANGUAGES:
        fail("invalid_language", _l("Choose Dutch (nl) or English (en)."), "language")
    if not data.consent:
        fail("consent_required", _l("Please agree to the privacy statement."), "consent")
    elif data.privacy_version is not None and data.privacy_version != version_of(event):
        fail(
            "privacy_statement_changed",
            _l("The privacy statement has changed since you opened this form: read it, and "
               "agree again if you do."),
            "consent",
        )  # fmt: skip

    programme = rules_for(db, event)
    profession = programme.professions.get(data.profession)
    if profession is None:
        fail("invalid_profession", _l("Choose a profession from the list."), "profession")

    identifiers: dict[str, str] = {}
    if profession is not None:
        identifiers = _numbers(profession, data, fail)

    ids = list(dict.fromkeys(data.sessions))
    chosen = [programme.sessions[i] for i in ids if i in programme.sessions]
    if len(chosen) != len(ids):
        fail("unknown_session", _l("Unknown session."), "sessions")
    elif profession is not None:
        try:
            check_choice(event.id, profession, chosen)
        except RuleError as exc:
            errors.append(exc)
    if errors:
        raise RegistrationInvalid(errors)
    assert profession is not None
    return Checked(email, profession, identifiers, chosen)
