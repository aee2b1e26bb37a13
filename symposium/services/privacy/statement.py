"""An event's privacy statement: the standard text (what this system keeps, why, how long,
who sees it, how to have it deleted) and the organiser's own addition, both versioned, so
that a registrant's consent names exactly what they agreed to.

The standard text lives in ``templates/privacy/_standard.html``; change it, and raise
:data:`STANDARD_VERSION` with it. The organiser's addition is kept per version in
``PrivacyAddition``; the event row carries the current number, so a registration records its
version without a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, PrivacyAddition, User
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.core.text import has_control, normal_lines

# The version of the standard text; raise it whenever that text changes in substance.
STANDARD_VERSION = 1
LIMIT = 10_000
_VERSION = re.compile(r"s(\d+)(?:\+e(\d+))?")


@dataclass(frozen=True)
class Statement:
    """One version of an event's statement: the standard text's and the addition's."""

    version: str
    standard: int
    addition: PrivacyAddition | None

    def addition_text(self, language: str) -> str:
        if self.addition is None:
            return ""
        return (self.addition.text_en if language == "en" else "") or self.addition.text_nl


def version_of(event: Event) -> str:
    """The version a registrant agrees to now: "s1", or "s1+e2" with the organiser's
    addition version 2."""
    addition = event.privacy_addition_version
    return f"s{STANDARD_VERSION}" + (f"+e{addition}" if addition else "")


def statement(db: DbSession, event: Event, version: str | None = None) -> Statement | None:
    """The statement as it is now, or as it was at ``version`` (None when unknown; of the
    standard text only the current version is kept, in the templates)."""
    version = version or version_of(event)
    found = _VERSION.fullmatch(version)
    if found is None or int(found[1]) != STANDARD_VERSION:
        return None
    addition = None
    if found[2]:
        addition = db.scalars(
            select(PrivacyAddition).where(
                PrivacyAddition.event_id == event.id, PrivacyAddition.version == int(found[2])
            )
        ).one_or_none()
        if addition is None:
            return None
    return Statement(version, STANDARD_VERSION, addition)


def history(db: DbSession, event: Event) -> list[PrivacyAddition]:
    """Every version of the organiser's addition, newest first."""
    return list(
        db.scalars(
            select(PrivacyAddition)
            .where(PrivacyAddition.event_id == event.id)
            .order_by(PrivacyAddition.version.desc())
        )
    )


def save_addition(
    db: DbSession, actor: User | None, event: Event, text_nl: str, text_en: str, now: datetime
) -> PrivacyAddition | None:
    """Store the organiser's addition as a new version (None when nothing changed: a
    replayed form makes no version). Registrants from now on agree to the new version;
    earlier consents keep theirs, still readable."""
    text_nl, text_en = normal_lines(text_nl), normal_lines(text_en)
    for field, text in (("text_nl", text_nl), ("text_en", text_en)):
        if has_control(text):
            raise RuleError("invalid_text", _l("Remove the invisible control characters."), field)
        if len(text) > LIMIT:
            raise RuleError("field_too_long", _l("At most %(num)d characters.", num=LIMIT), field)
    if text_en and not text_nl:
        raise RuleError(
            "privacy_dutch_first",
            _l("Write the Dutch text first: it is shown when there is no English one."),
            "text_nl",
        )
    begin_write(db)  # two organisers saving at once make two versions, in turn
    lock_event(db, event.id)
    db.refresh(event)
    current = statement(db, event)
    before = current.addition if current is not None else None
    if ((before.text_nl, before.text_en) if before else ("", "")) == (text_nl, text_en):
        return None
    addition = PrivacyAddition(
        event_id=event.id,
        version=event.privacy_addition_version + 1,
        text_nl=text_nl,
        text_en=text_en,
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
    )
    db.add(addition)
    event.privacy_addition_version = addition.version
    audit.record(
        db, user=actor, event=event, action="privacy_statement_changed",
        after={"version": version_of(event)}, now=now,
    )  # fmt: skip
    db.flush()
    return addition
