"""A professional refers a client to a series: the rules of the referral form.

The form asks only what a coordinator needs to reach the client and what the funder's counts
need of the referrer; this service stores exactly that (no date of birth, no address, no
diagnosis). The same form sent twice (a double tap on a slow phone) makes one referral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, EventStatus, Referral, ReferralState, Theme
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.core.text import has_control, normal_lines, single_line_problem
from symposium.services.mail import outbox

# Who refers: a small fixed list (the funder's report counts referrals per profession).
PROFESSIONS: dict[str, object] = {
    "huisarts": _l("GP (huisarts)"),
    "poh-ggz": _l("POH-GGZ (mental health practice nurse)"),
    "maatschappelijk-werker": _l("Social worker"),
    "wijkverpleegkundige": _l("District nurse"),
    "praktijkondersteuner": _l("Practice nurse (praktijkondersteuner)"),
    "overig": _l("Other"),
}

# The client's preferred language: each in its own name, so the client can point at it.
LANGUAGES: dict[str, object] = {
    "nl": "Nederlands",
    "en": "English",
    "ar": "العربية",
    "ti": "Tigrinya",
    "fa": "Farsi/Dari",
    "tr": "Türkçe",
    "so": "Somali",
    "uk": "Українська",
    "other": _l("Another language"),
}

NEED_LIMIT = 500
# The most characters of each one-line field (the columns' lengths).
LIMITS = {
    "referrer_name": 200, "referrer_organisation": 200, "referrer_email": 254,
    "referrer_phone": 40, "client_name": 100, "client_phone": 40, "client_email": 254,
}  # fmt: skip
REQUIRED = ("referrer_name", "referrer_organisation", "referrer_email", "referrer_phone",
            "client_name")  # fmt: skip
AGB = re.compile(r"[0-9]{8}")
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass
class ReferralInput:
    """What the form sends (the API would send the same)."""

    referrer_name: str
    referrer_organisation: str
    referrer_profession: str
    referrer_email: str
    referrer_phone: str
    client_name: str
    client_language: str
    contact_consent: bool
    agb_code: str = ""
    client_phone: str = ""
    client_email: str = ""
    themes: list[str] = field(default_factory=list)
    coordinator_chooses: bool = False
    need: str = ""
    feedback_consent: bool = False
    language: str = "nl"
    submission_key: str | None = None


class ReferralInvalid(RuleError):
    """Every problem of a referral at once, each naming its field."""

    def __init__(self, errors: list[RuleError]):
        super().__init__("referral_invalid", _l("Please correct the marked fields."))
        self.errors = errors


@dataclass(frozen=True)
class Outcome:
    referral: Referral
    created: bool  # False: the same form was sent again


def takes_referrals(event: Event) -> bool:
    """A published series takes referrals (a symposium never does)."""
    return event.is_series and event.status is EventStatus.PUBLISHED


def themes_of(db: DbSession, event: Event) -> list[Theme]:
    """The themes a client may prefer: those of the series' groups that are not cancelled."""
    codes = {t.code for s in event.sessions if not s.is_cancelled for t in s.themes}
    return list(
        db.scalars(select(Theme).where(Theme.code.in_(codes or [""])).order_by(Theme.position))
    )


def problems(db: DbSession, event: Event, data: ReferralInput) -> list[RuleError]:
    """Every rule the referral breaks, each with its field (empty: it may be stored)."""
    found: list[RuleError] = []

    def refuse(code: str, message: object, name: str) -> None:
        if not any(e.field == name for e in found):
            found.append(RuleError(code, message, name))

    for name, limit in LIMITS.items():
        value = getattr(data, name)
        if name in REQUIRED and not value.strip():
            refuse("required", _l("Please fill this in."), name)
        elif single_line_problem(value):
            refuse("invalid_text", _l("One line, without control characters."), name)
        elif len(value) > limit:
            refuse("field_too_long", _l("At most %(num)d characters.", num=limit), name)
    for name in ("referrer_email", "client_email"):
        value = getattr(data, name).strip()
        if value and not _is_address(value):
            refuse("invalid_email", _l("Enter a valid e-mail address."), name)
    if data.referrer_profession not in PROFESSIONS:
        refuse("unknown_profession", _l("Choose your profession."), "referrer_profession")
    if data.agb_code.strip() and not AGB.fullmatch(data.agb_code.strip()):
        refuse("invalid_agb", _l("An AGB code is exactly 8 digits."), "agb_code")
    if not data.client_phone.strip() and not data.client_email.strip():
        refuse(
            "no_contact",
            _l("Give the client's phone number or e-mail address, so we can reach them."),
            "client_phone",
        )
    if data.client_language not in LANGUAGES:
        refuse("unknown_language", _l("Choose the client's language."), "client_language")
    known = {t.code for t in themes_of(db, event)}
    if any(code not in known for code in data.themes):
        refuse("unknown_theme", _l("Choose themes of this series."), "themes")
    elif not data.themes and not data.coordinator_chooses:
        refuse("no_theme", _l("Tick a theme, or let the coordinator choose."), "themes")
    if has_control(normal_lines(data.need)):
        refuse("invalid_text", _l("Remove the invisible control characters."), "need")
    elif len(normal_lines(data.need)) > NEED_LIMIT:
        refuse("field_too_long", _l("At most %(num)d characters.", num=NEED_LIMIT), "need")
    if not data.contact_consent:
        refuse(
            "no_consent",
            _l("Refer a client only when they agreed to be contacted by the coordinator."),
            "contact_consent",
        )
    return found


def refer(db: DbSession, event: Event, data: ReferralInput, now: datetime) -> Outcome:
    """Store a referral and queue the referrer's receipt; raise :class:`ReferralInvalid`.

    Under the event's lock: the reference's number is the next of the event, and a form sent
    twice finds the referral its first sending made (its one-time key).
    """
    if not takes_referrals(event):
        raise RuleError("no_referrals", _l("This event takes no referrals."), status=404)
    errors = problems(db, event, data)
    if errors:
        raise ReferralInvalid(errors)
    key = data.submission_key if data.submission_key else None
    if key is not None and not SUBMISSION_KEY.fullmatch(key):
        key = None  # a broken key protects nothing; the referral is still taken
    begin_write(db)
    lock_event(db, event.id)
    if key is not None:
        earlier = db.scalars(
            select(Referral).where(Referral.event_id == event.id, Referral.submission_key == key)
        ).one_or_none()
        if earlier is not None:
            if not _same_client(earlier, data):
                # The form was sent again with another client (back, changed, sent): that
                # client would be lost behind the first one's receipt.
                raise RuleError(
                    "form_already_sent",
                    _l("This form was sent already (reference %(reference)s). To refer "
                       "another client, open a new form.", reference=earlier.reference),
                    status=409,
                )  # fmt: skip
            return Outcome(earlier, created=False)
    number = (db.scalar(select(func.max(Referral.number)).where(Referral.event_id == event.id))
              or 0) + 1  # fmt: skip
    # Themes ticked are the referrer's choice, also with "let the coordinator choose" ticked.
    chooses = not data.themes
    referral = Referral(
        event_id=event.id,
        number=number,
        reference=reference(event, number, now),
        submission_key=key,
        referred_at=now,
        language=data.language if data.language in ("nl", "en") else "nl",
        referrer_name=data.referrer_name.strip(),
        referrer_organisation=data.referrer_organisation.strip(),
        referrer_profession=data.referrer_profession,
        referrer_email=data.referrer_email.strip().lower(),
        referrer_phone=data.referrer_phone.strip(),
        agb_code=data.agb_code.strip(),
        client_name=data.client_name.strip(),
        client_phone=data.client_phone.strip(),
        client_email=data.client_email.strip().lower(),
        client_language=data.client_language,
        themes=[] if chooses else list(dict.fromkeys(data.themes)),
        need=normal_lines(data.need),
        feedback_consent=data.feedback_consent,
        state=ReferralState.NEW,
        state_changed_at=now,
    )
    db.add(referral)
    db.flush()
    audit.record(
        db, user=None, event=event, action="referral_received",
        target=f"referral {referral.reference}", after={"status": ReferralState.NEW.value},
        now=now,
    )  # fmt: skip
    outbox.queue_referral_mail(db, referral, "referral_received", now)
    return Outcome(referral, created=True)


def _same_client(referral: Referral, data: ReferralInput) -> bool:
    """Whether a resent form names the client its first sending did."""
    return (referral.client_name, referral.client_phone, referral.client_email) == (
        data.client_name.strip(),
        data.client_phone.strip(),
        data.client_email.strip().lower(),
    )


def reference(event: Event, number: int, now: datetime) -> str:
    """E.g. WOR-2027-0042: the series' initials, the year referred, the event's number.

    Something a GP can note in their own file and quote on the phone; it says nothing about
    the client.
    """
    letters = "".join(w[0] for w in re.findall(r"[A-Za-z]+", event.title)[:4]).upper()
    return f"{letters or 'REF'}-{now.astimezone(event.tz).year}-{number:04d}"


def _is_address(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
