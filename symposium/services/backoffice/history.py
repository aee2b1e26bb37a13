"""The audit log and a place's history in words: sentences, not codes and JSON.

Services record what happened as codes (``capacity_changed``, ``{"capacity": null}``), which
keeps the log exact and language-free; this module reads an entry back as the organiser
should see it, in the current language: "Capacity of “Oefenen met een 7ROSES-sessie”
changed from 8 to unlimited", with one line per changed value ("Room: Zaal 1 → Zaal 2").
Every action the services record has a sentence here (a test reads the sources to make
sure), and every value is given in words: statuses, roles, rules, dates in the event's time
zone, no limit for an empty capacity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.filters import local_date, local_time, localised_name
from symposium.models import AuditEntry, Event, Profession, Register, Registration

# What each action did, with %(target)s: the session, person, register … it was done to.
ACTIONS: dict[str, Any] = {
    # the programme
    "event_created": _l("Event created"),
    "event_edited": _l("Event details changed"),
    "event_status": _l("Status of the event changed"),
    "event_file_loaded": _l("Event file loaded"),
    "branding_changed": _l("Logo or accent colour changed"),
    "round_created": _l("Round %(target)s created"),
    "round_edited": _l("Round %(target)s changed"),
    "session_created": _l("Session %(target)s created"),
    "session_edited": _l("Session %(target)s changed"),
    "capacity_changed": _l("Capacity of %(target)s changed"),
    # places
    "session_cancelled": _l("Session %(target)s cancelled"),
    "place_cancelled": _l("Place of %(target)s cancelled"),
    "moved": _l("%(target)s moved to another session"),
    "moved_with_override": _l("%(target)s moved to another session, over the limit"),
    "promoted_by_hand": _l("%(target)s promoted from the waiting list"),
    "promoted_with_override": _l("%(target)s given a place over the limit"),
    "registration_cancelled": _l("Registration of %(target)s cancelled"),
    "manage_link_resent": _l("Manage link sent to %(target)s again"),
    # the door
    "walk_in": _l("%(target)s registered at the door"),
    "admitted_anyway": _l("%(target)s admitted to a session without a place there"),
    "checkin_undone": _l("Check-in of %(target)s taken back"),
    "checkout_undone": _l("Check-out of %(target)s taken back"),
    "everyone_left": _l("Everyone still in %(target)s checked out"),
    "paper_entered": _l("Paper sign-in sheet of %(target)s entered"),
    # accreditation and certificates
    "accreditation_saved": _l("Accreditation by %(target)s saved"),
    "accreditation_deleted": _l("Accreditation by %(target)s deleted"),
    "attendance_list_exported": _l("Attendance list for %(target)s downloaded"),
    "register_numbers_changed": _l("Register numbers of %(target)s changed"),
    "details_corrected": _l("%(target)s corrected their details"),
    "email_changed": _l("%(target)s changed their e-mail address (confirmed from the new address)"),
    "register_number_requested": _l("Register number asked of %(target)s"),
    "points_overridden": _l("Points of %(target)s set by hand"),
    "points_override_removed": _l("Points of %(target)s no longer set by hand"),
    "certificate_settings_changed": _l("Certificate settings changed"),
    "certificates_issued": _l("Certificates issued"),
    "certificate_reissued": _l("Certificate %(target)s re-issued"),
    "certificate_revoked": _l("Certificate %(target)s revoked"),
    # personal data
    "privacy_statement_changed": _l("Privacy statement changed"),
    # mail
    "message_sent": _l("Message sent to registrants %(target)s"),
    "reminders_queued": _l("Reminders sent"),
    "unsubscribed": _l("%(target)s unsubscribed from the organiser's messages"),
    "personal_data_deleted": _l("Personal data of %(target)s deleted at their request"),
    "personal_data_purged": _l("Personal data deleted after the retention period"),
    # referrals (health data: the entries name the reference, never the client)
    "referral_received": _l("Referral %(target)s received"),
    "referral_viewed": _l("Referral %(target)s looked at"),
    "referral_state_changed": _l("Status of referral %(target)s changed"),
    "referrals_purged": _l("Referrals anonymised after the retention period"),
    # accounts
    "role_granted": _l("Role given to %(target)s"),
    "role_revoked": _l("Role taken from %(target)s"),
    "password_set": _l("Password of %(target)s set"),
    "signed_out": _l("%(target)s signed out everywhere"),
    "door_token_created": _l("Door token made for %(target)s"),
    "door_token_revoked": _l("Door token of %(target)s revoked"),
}

# The names of the values the entries record.
FIELDS: dict[str, Any] = {
    "title": _l("Title"),
    "subtitle": _l("Subtitle"),
    "description": _l("Description"),
    "audience": _l("Who it is for"),
    "objectives": _l("Learning objectives"),
    "venue": _l("Venue"),
    "address": _l("Address"),
    "slug": _l("Address of the page"),
    "room": _l("Room"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "registration_opens_at": _l("Registration opens"),
    "registration_closes_at": _l("Registration closes"),
    "capacity": _l("Places"),
    "hours": _l("Accreditation hours"),
    "professions": _l("Who may join"),
    "quotas": _l("Places per profession"),
    "late_tolerance_minutes": _l("Minutes late that still count as attending in full"),
    "early_tolerance_minutes": _l("Minutes early that still count as attending in full"),
    "reminder_days": _l("Reminder: days before the event"),
    "practical_info": _l("Practical information for the reminder"),
    "subject": _l("Subject"),
    "status": _l("Status"),
    "accent_colour": _l("Accent colour"),
    "logo": _l("Logo"),
    "promoted": _l("Promoted from the waiting list"),
    "registrants_told": _l("Registrants told"),
    "checked_out": _l("Checked out"),
    "at": _l("At"),
    "calendar_updates": _l("Calendar updates sent"),
    "body": _l("Accrediting body"),
    "activity_id": _l("Activity ID"),
    "scope": _l("Points for"),
    "daily_cap": _l("Most points per day"),
    "rounding": _l("Rounding"),
    "deadline": _l("Deadline for register numbers"),
    "points": _l("Points"),
    "reason": _l("Reason"),
    "format": _l("Format"),
    "day": _l("Day"),
    "count": _l("Number"),
    "number": _l("Number"),
    "rule": _l("Who gets one"),
    "signatory": _l("Signed by"),
    "signature": _l("Signature image"),
    "role": _l("Role"),
    "event": _l("Event"),
    "sessions_ended": _l("Signed out everywhere"),
    "kept_for_accreditation": _l("Kept for accreditation"),
    "registrations": _l("Registrations"),
    "anonymised": _l("Anonymised"),
    "numbers_dropped": _l("Register numbers deleted"),
    "certificates": _l("Certificates"),
    "numbers": _l("Numbers"),
    "people": _l("People"),
    "missing": _l("Without a register number"),
    "accreditation_data_removed": _l("Accreditation data deleted"),
    "mail_blanked": _l("Mail emptied"),
    "certificates_deleted": _l("Certificates deleted"),
    "fields": _l("Changed"),
    "version": _l("Version"),
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "organisation": _l("Organisation"),
    "phone": _l("Phone number"),
    "needs": _l("Accessibility or dietary needs"),
    "group": _l("Group"),
    "with_note": _l("With a note"),
    "feedback_mail": _l("Referrer told"),
}

# Values that are codes: statuses, roles, rules.
WORDS: dict[str, Any] = {
    "draft": _l("draft"),
    "published": _l("published"),
    "cancelled": _l("cancelled"),
    "confirmed": _l("confirmed"),
    "waitlisted": _l("on the waiting list"),
    "admin": _l("administrator"),
    "organiser": _l("organiser"),
    "door": _l("door"),
    "session": _l("each session attended in full"),
    "event": _l("the whole event only"),
    "none": _l("none"),
    "half": _l("down to halves"),
    "whole": _l("down to whole points"),
    "points": _l("everyone who earned points"),
    "attendance": _l("everyone who attended"),
    "off": _l("no one"),
    "xlsx": "XLSX",
    "pdf": "PDF",
    "paste": _l("paste list"),
    # a referral's status (ReferralState)
    "new": _l("new"),
    "contacted": _l("contacted"),
    "intake_done": _l("intake done"),
    "placed": _l("placed"),
    "waiting": _l("waiting"),
    "declined": _l("declined"),
    "closed": _l("closed"),
}

# Why a place changed (EnrolmentChange.reason); "promoted:<why>" is promoted because of <why>.
CHANGE_REASONS: dict[str, Any] = {
    "registered": _l("registered"),
    "walk_in": _l("registered at the door"),
    "switched": _l("switched to another session"),
    "switch_withdrawn": _l("switch withdrawn"),
    "cancelled_by_registrant": _l("cancelled by the registrant"),
    "registration_cancelled": _l("registration cancelled"),
    "session_cancelled": _l("session cancelled by the organiser"),
    "override": _l("given a place over the limit by an organiser"),
    "by_hand": _l("by an organiser"),
    "capacity_raised": _l("more places"),
    "limit_raised": _l("more places"),
}

# What a mail is about (OutboxMessage.kind), for one whose subject was never written: a
# message is written when the worker sends it, so one that failed before has none.
MAIL_KINDS: dict[str, Any] = {
    "registered": _l("Registration confirmation"),
    "manage_link": _l("Manage link"),
    "promoted": _l("Place from the waiting list"),
    "changed": _l("Programme changed"),
    "enrolment_cancelled": _l("Place cancelled"),
    "registration_cancelled": _l("Registration cancelled"),
    "calendar_cancelled": _l("Removed from the calendar"),
    "invitation": _l("Calendar invitation"),
    "invitation_cancelled": _l("Calendar invitation withdrawn"),
    "session_changed": _l("Session changed"),
    "session_cancelled": _l("Session cancelled"),
    "event_cancelled": _l("Event cancelled"),
    "number_missing": _l("Register number asked for"),
    "certificate": _l("Certificate"),
    "email_confirm": _l("New e-mail address to confirm"),
    "email_changed": _l("E-mail address changed"),
    "reminder": _l("Reminder"),
    "organiser_message": _l("Message from the organiser"),
    "password_reset": _l("Password reset"),
    "account_created": _l("Account created"),
    "referral_received": _l("Referral received"),
    "referral_status": _l("News about a referral"),
}

# A recorded time: "2027-03-18T09:00:00+00:00".
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?$")
# A target as the services write it: "session 7roses", "registration 12 a@b.nl",
# "registration:12 register:NIP", "register:NIP", "round r1", "user a@b.nl", "certificate N",
# "referral WOR-2027-0042".
_TARGET_PART = re.compile(
    r"(session|round|registration|register|user|certificate|referral)[ :](\S+)"
)


@dataclass(frozen=True)
class Line:
    """One entry of the audit log as read: a sentence, the changes, a note."""

    entry: AuditEntry
    sentence: str
    changes: list[str]
    note: str


def status_words(status: str | None) -> str:
    """A place's status as a word; "waitlisted 3" is "on the waiting list (3)"."""
    if not status:
        return "–"
    code, _sep, position = str(status).partition(" ")
    word = str(WORDS.get(code, code))
    return f"{word} ({position})" if position else word


def mail_kind(kind: str) -> str:
    """What a mail is about, in words ("registration_cancelled": "Registration cancelled")."""
    return str(MAIL_KINDS.get(kind, kind))


def change_reason(reason: str) -> str:
    """Why a place changed, in words ("promoted:switched": promoted, as someone switched)."""
    if reason.startswith("promoted:"):
        why = reason.removeprefix("promoted:")
        return _("promoted from the waiting list (%(why)s)", why=CHANGE_REASONS.get(why, why))
    return str(CHANGE_REASONS.get(reason, reason))


class _Names:
    """What codes in an event's entries stand for: sessions, rounds, registers, people."""

    def __init__(self, db: DbSession, event: Event, entries: Iterable[AuditEntry]):
        self.event = event
        self.sessions = {s.key: s.title for s in event.sessions}
        self.session_ids = {str(s.id): s.title for s in event.sessions}
        self.rounds = {r.key: r.title for r in event.rounds}
        self.registers = {r.code: r.short_name for r in db.scalars(select(Register))}
        self.professions = {p.code: localised_name(p) for p in db.scalars(select(Profession))}
        ids = {
            int(found)
            for e in entries
            for kind, found in _TARGET_PART.findall(e.target or "")
            if kind == "registration" and found.isdigit()
        }
        self.people = {
            r.id: (r.name if not r.is_anonymised else _("registration %(id)d", id=r.id))
            for r in db.scalars(select(Registration).where(Registration.id.in_(ids or [0])))
        }

    def target(self, entry: AuditEntry) -> str:
        parts = []
        for kind, code in _TARGET_PART.findall(entry.target or ""):
            if kind == "session":
                parts.append(f"“{self.sessions.get(code, code)}”")
            elif kind == "round":
                parts.append(f"“{self.rounds.get(code, code)}”")
            elif kind == "registration" and code.isdigit():
                parts.append(self.people.get(int(code), _("registration %(id)s", id=code)))
            elif kind == "register":
                parts.append(self.registers.get(code, code))
            elif kind != "registration":
                parts.append(code)
        if entry.action == "paper_entered" and " meeting " in (entry.target or ""):
            meeting = entry.target.rsplit(" ", 1)[-1]
            parts.append(_("meeting %(n)s", n=meeting))
        return " · ".join(parts) if parts else (entry.target or "")

    def value(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == [] or value == {}:
            return str(_("unlimited")) if key == "capacity" else "–"
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value) or "–"
        if isinstance(value, dict):
            return "; ".join(f"{self.key(k, key)}: {self.value(k, v)}" for k, v in value.items())
        text = str(value)
        if _ISO_TIME.match(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            zone = self.event.timezone
            if moment.tzinfo is None:
                return f"{local_date(moment, zone, 'medium')}"  # a date without a time
            return f"{local_date(moment, zone, 'medium')} {local_time(moment, zone)}"
        if key == "fields" and text in FIELDS:  # the names of the details someone corrected
            return str(FIELDS[text]).lower()
        if key in ("professions",) and text in self.professions:
            return self.professions[text]
        if text in WORDS and key in ("status", "role", "rule", "scope", "rounding", "format"):
            return str(WORDS[text])
        return text

    def key(self, key: str, parent: str = "") -> str:
        """The name of a value: a field, or inside a dict a profession, session or register."""
        if parent == "quotas":
            return self.professions.get(key, key)
        if parent == "points":
            return self.session_ids.get(key, key)
        return str(FIELDS.get(key, key.replace("_", " ")))


def describe(db: DbSession, event: Event, entries: list[AuditEntry]) -> list[Line]:
    """The entries of an event's audit log in words, in the current language."""
    names = _Names(db, event, entries)
    return [_line(names, entry) for entry in entries]


def _line(names: _Names, entry: AuditEntry) -> Line:
    person = entry.target.startswith("registration ")
    action = "place_cancelled" if person and entry.action == "session_cancelled" else entry.action
    template = ACTIONS.get(action)
    target = names.target(entry)
    sentence = str(template) % {"target": target} if template is not None else entry.action
    before, after = entry.before or {}, entry.after or {}
    if person and entry.action in PARTICIPANT_ACTIONS:
        changes = [
            f"“{names.sessions.get(key, key)}”: {status_words(before.get(key))} → "
            f"{status_words(after.get(key))}"
            for key in sorted(set(before) | set(after), key=lambda k: names.sessions.get(k, k))
            if before.get(key) != after.get(key)
        ]
    elif entry.action == "event_file_loaded":
        changes = [f"{_event_file_change(k)}: {v}" for k, v in sorted(after.items())]
    else:
        changes = _changes(names, before, after)
    return Line(entry, sentence, changes, _note(entry))


def _changes(names: _Names, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after:
            if old == new:
                continue
            lines.append(f"{names.key(key)}: {names.value(key, old)} → {names.value(key, new)}")
        elif key in after:
            lines.append(f"{names.key(key)}: {names.value(key, new)}")
        else:
            lines.append(f"{names.key(key)}: {names.value(key, old)} → –")
    return lines


# The actions of record_participant: before and after are the person's places.
PARTICIPANT_ACTIONS = frozenset(
    {
        "moved", "moved_with_override", "promoted_by_hand", "promoted_with_override",
        "registration_cancelled", "manage_link_resent", "walk_in", "admitted_anyway",
        "checkin_undone", "checkout_undone", "session_cancelled",
    }
)  # fmt: skip

_EVENT_FILE_WORDS = {
    "created": _l("created"),
    "updated": _l("changed"),
    "deleted": _l("deleted"),
    "event": _l("event"),
    "rounds": _l("rounds"),
    "sessions": _l("sessions"),
    "meetings": _l("meetings"),
    "accreditations": _l("accreditations"),
    "branding": _l("logo and colour"),
}


def _event_file_change(phrase: str) -> str:
    """ "created sessions" in words of the current language."""
    return " ".join(str(_EVENT_FILE_WORDS.get(word, word)) for word in phrase.split())


def _note(entry: AuditEntry) -> str:
    """The entry's note, where it says something to a person (not a list of ids)."""
    note = entry.note or ""
    if entry.action == "paper_entered":
        count = len([n for n in note.split(",") if n.strip()])
        return ngettext("%(num)d person", "%(num)d people", count)
    if note == "by the registrant":
        return _("by the registrant")
    if note == "by the registrant, confirmed from the new address":
        return _("by the registrant")  # the sentence says it was confirmed
    if entry.action == "personal_data_deleted" and note == "asked for by the registrant":
        return ""
    return note
