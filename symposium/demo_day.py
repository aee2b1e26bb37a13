"""The demo's day at the 7ROSES symposium (``flask demo``): people register, and on the day
the door checks them in, so every part of the app has something to show.

Everything goes through the services, at the times it would happen (registration in
November, the door on 18 March 2027): registrations with a workshop per round, a door
account, check-ins at the plenary opening (one late), at the first round's workshops (one
admitted anyway elsewhere, one leaving early, a walk-in added by the organiser, "everyone
left" at the end), the second lecture, the second round (its small workshop entered from its
paper sign-in sheet) and the forum. So each register's attendance list has people with full
points, reduced points with their reasons, and one social worker without a number. The next
morning the organiser issues the certificates (mailed at once, with the PDF). In the Welzijn
op recept series one participant of a group is ticked at five of its six meetings and, after
the last one, gets a certificate of participation naming them. Runs once: an event that has
registrations already is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession

from symposium import clock
from symposium.clock import localise
from symposium.models import (
    CertificateRule,
    Event,
    OutboxMessage,
    ReferralState,
    Registration,
    Role,
    Session,
    User,
    Via,
)
from symposium.services.accounts import access
from symposium.services.certificates import design, issuing
from symposium.services.checkin import presence, sheets, walk_ins
from symposium.services.checkin.presence import Direction
from symposium.services.core.errors import RuleError
from symposium.services.mail import messages
from symposium.services.privacy import statement
from symposium.services.programme.rules import rules_for
from symposium.services.referrals import inbox, intake
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput

SLUG = "7roses-2027"
SERIES = "welzijn-op-recept-2027"
DOOR_EMAIL = "deur@example.org"
# The series' coordinator (organiser of Welzijn op recept only): sees its referrals.
COORDINATOR_EMAIL = "coordinator@example.org"

# Name, profession, organisation, workshop in round 1, workshop in round 2.
PEOPLE = [
    ("Fatima el Amrani", "maatschappelijk-werker", "Vluchtelingenwerk Noord",
     "opbouw-sessie", "veiligheid-en-erkenning"),
    ("Jan van der Berg", "gz-psycholoog", "GGZ Drenthe", "chime-in-de-praktijk",
     "oefenen-in-kleine-groep"),
    ("Zoë Çelik", "gz-psycholoog", "Centrum '45", "herstel-en-behandeling",
     "oefenen-in-kleine-groep"),
    ("Pieter de Vries", "huisarts", "Huisartsenpraktijk Oosterpark", "chime-in-de-praktijk",
     "eerste-lijn"),
    ("Anouk Jansen", "verpleegkundige", "GGD Groningen", "empowerment-met-tolken",
     "eerste-lijn"),
    ("Mohammed Haddad", "psychiater", "i-psy", "herstel-en-behandeling",
     "ervaringen-uit-de-praktijk"),
    ("Sanne Bakker", "spv", "Lentis", "opbouw-sessie", "oefenen-in-kleine-groep"),
    ("Ömer Yılmaz", "maatschappelijk-werker", "Sociaal Team Hoogezand",
     "empowerment-met-tolken", "veiligheid-en-erkenning"),
    ("Eva Smit", "gz-psycholoog", "Accare", "opbouw-sessie", "oefenen-in-kleine-groep"),
    ("Lotte Visser", "basispsycholoog", "Praktijk Visser", "chime-in-de-praktijk",
     "ervaringen-uit-de-praktijk"),
    ("Ahmad Rahimi", "verpleegkundige", "UMCG", "opbouw-sessie", "eerste-lijn"),
    ("Marieke 't Hart", "psychotherapeut", "Praktijk 't Hart", "chime-in-de-praktijk",
     "oefenen-in-kleine-groep"),
]  # fmt: skip


@dataclass
class DemoDay:
    registrations: int = 0
    presences: int = 0
    certificates: int = 0
    referrals: int = 0
    skipped: str = ""

    def summary(self) -> str:
        if self.skipped:
            return f"Demo day: {self.skipped}"
        return (
            f"Demo day at {SLUG}: {self.registrations} registrations, {self.presences} "
            f"check-ins (door account {DOOR_EMAIL}), {self.certificates} certificates issued, "
            f"{self.referrals} referral to {SERIES} (coordinator {COORDINATOR_EMAIL})"
        )


def _identifiers(db: DbSession, event: Event, profession: str, n: int) -> dict[str, str]:
    """Well-formed (invented) numbers for what the event asks of the profession; the social
    worker Ömer (n = 8) gives none, so the lists show someone missing a number."""
    found = rules_for(db, event).professions[profession]
    if n == 8:
        return {}
    big = f"{190000000 + n * 7919:09d}{min(found.big_codes, default='01')}"
    made = {"BIG": big, "NIP": f"NIP-{n * 104729:08d}", "REGISTERPLEIN": f"4610{n * 3571:05d}",
            "VENVN": f"{300000 + n * 37}"}  # fmt: skip
    return {r.code: made.get(r.code, f"KP-{n:05d}") for r in found.registers}


PRIVACY_NL = (
    "Voor vragen over uw gegevens kunt u terecht bij onze privacycontactpersoon, via "
    "privacy@veerkracht.example.org.\n\nTijdens het symposium maakt een fotograaf foto's van "
    "de zaal. Wilt u niet op de foto, zeg het dan bij de registratiebalie: u krijgt een "
    "gekleurd koord."
)
PRIVACY_EN = (
    "For questions about your data, write to our privacy contact at "
    "privacy@veerkracht.example.org.\n\nA photographer takes pictures of the hall during the "
    "symposium. If you prefer not to be photographed, say so at the registration desk: you "
    "will get a coloured lanyard."
)


MESSAGE = (
    "Neemt u voor de workshop CHIME in de praktijk een casus mee uit uw eigen werk? Een paar "
    "regels is genoeg: we gebruiken ze in tweetallen.\n\nTot donderdag 18 maart!"
)


def run(db: DbSession, admin: User, secret_key: str, password: str) -> DemoDay:
    """Play the day once (see the module); commits along the way, the caller at the end."""
    event = db.scalars(select(Event).where(Event.slug == SLUG)).one_or_none()
    if event is None:
        return DemoDay(skipped=f"no event {SLUG}")
    if db.scalar(select(func.count()).where(Registration.event_id == event.id)):
        return DemoDay(skipped=f"{SLUG} has registrations already; left as it is")
    zone = event.tz
    sessions = {s.key: s for s in event.sessions}
    day = event.starts_at.astimezone(zone).date()

    def at(hour: int, minute: int) -> datetime:
        return localise(datetime(day.year, day.month, day.day, hour, minute), zone)

    signed_up = (event.registration_opens_at or event.starts_at) + timedelta(days=2)
    # The organiser's own part of the privacy statement: registrants agree to version s1+e1.
    statement.save_addition(db, admin, event, PRIVACY_NL, PRIVACY_EN, signed_up)
    people: list[Registration] = []
    for n, (name, profession, organisation, first, second) in enumerate(PEOPLE, start=1):
        data = RegistrationInput(
            name=name, email=f"demo.deelnemer{n}@example.org", profession=profession,
            organisation=organisation, consent=True,
            identifiers=_identifiers(db, event, profession, n),
            sessions=[sessions[first].id, sessions[second].id],
        )  # fmt: skip
        done = lifecycle.register(db, event, data, signed_up + timedelta(hours=n), secret_key)
        people.append(done.registration)
        db.flush()
    # The organiser writes to one workshop's participants (bulk mail, with a one-click
    # unsubscribe).
    messages.send(
        db, admin, event, "Extra materiaal", MESSAGE, sessions["chime-in-de-praktijk"],
        "demo-chime-message", signed_up + timedelta(days=3),
    )  # fmt: skip
    door, _ = access.create_user(
        db, DOOR_EMAIL, Role.DOOR, signed_up, event=event, name="Deur 7ROSES", password=password
    )
    result = DemoDay(registrations=len(people))

    def scan(person: Registration, key: str, when: datetime, **extra) -> None:  # type: ignore[no-untyped-def]
        direction = extra.get("direction", Direction.IN)
        answer = presence.scan(
            db, door, sessions[key],
            client_id=f"demo-{person.id}-{key}-{direction}", now=when,
            registration_id=person.id, **extra,
        )  # fmt: skip
        result.presences += answer.recorded and direction is Direction.IN

    # The opening: everyone but two, by their QR code; one comes in late, by typed code.
    for i, person in enumerate(people[:-3]):
        scan(person, "opening", at(9, 18) + timedelta(minutes=i), via=Via.SCAN)
    scan(people[-3], "opening", at(9, 52), via=Via.TYPED)
    # Round 1: everyone at their workshop; Lotte goes to CHIME's neighbour, let in anyway.
    round_1 = {p.id: PEOPLE[i][3] for i, p in enumerate(people)}
    lotte = people[9]
    for i, person in enumerate(people):
        if person is lotte:
            scan(person, "opbouw-sessie", at(13, 14), via=Via.SCAN, admit_anyway=True)
        else:
            scan(person, round_1[person.id], at(13, 6) + timedelta(minutes=i % 8), via=Via.SCAN)
    # Pieter leaves CHIME early for his practice.
    scan(people[3], "chime-in-de-praktijk", at(14, 5), via=Via.SCAN, direction=Direction.OUT)
    # A walk-in at "Empowerment met tolken", added by the organiser at the door.
    walk_in = RegistrationInput(
        name="Noor Hendriks", email="demo.binnenloper@example.org",
        profession="maatschappelijk-werker", organisation="Humanitas", consent=True,
        identifiers=_identifiers(db, event, "maatschappelijk-werker", 99),
        submission_key="demo-walk-in",
    )  # fmt: skip
    db.commit()  # the day so far: a refused walk-in rolls back only itself
    try:
        walk_ins.walk_in(db, admin, sessions["empowerment-met-tolken"], walk_in, at(13, 22),
                         secret_key)  # fmt: skip
        db.commit()
        result.presences += 1
        result.registrations += 1
    except RuleError:
        db.rollback()  # the workshop filled up in an edited example: the demo goes on without
    for key in sorted(set(round_1.values())):
        presence.everyone_left(db, door, sessions[key], at(14, 46))
    _rest_of_the_day(db, scan, people, at)
    # Round 2's small workshop had no wifi: its paper sheet is entered afterwards.
    small: Session = sessions["oefenen-in-kleine-groep"]
    signed = [r.id for r in sheets.expected_people(db, small)][:-1]  # one did not sign
    entry = sheets.enter_paper(db, admin, small, signed, at(17, 5))
    result.presences += len(entry.recorded)
    db.commit()
    # The next morning the organiser signs and issues the certificates; the worker mails them.
    design.save(
        db, admin, event, rule=CertificateRule.POINTS,
        signatory_name=event.organiser_name or "", signatory_role="Programmacommissie",
        signature=None, remove_signature=False, now=at(8, 50) + timedelta(days=1),
    )  # fmt: skip
    issued = issuing.issue_all(db, admin, event, at(9, 0) + timedelta(days=1)).issued
    issued += _series(db, admin, secret_key)
    result.referrals = _referral(db, password)
    result.certificates = len(issued)
    # The day is played in the event's future; its certificates are mailed now, not then.
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.certificate_id.in_([c.id for c in issued] or [0]))
        .values(next_attempt_at=clock.now())
    )
    db.commit()
    return result


def _series(db: DbSession, admin: User, secret_key: str) -> list[Any]:
    """A participant of a Welzijn op recept group, ticked at every meeting but the third;
    after the last one, the certificate of participation listing the meetings attended (no
    points: no register accredits the series)."""
    series = db.scalars(select(Event).where(Event.slug == SERIES)).one_or_none()
    group = next((s for s in series.sessions if s.meetings), None) if series else None
    if series is None or group is None:
        return []
    data = RegistrationInput(
        name="Amal Haddou", email="demo.groep@example.org", profession="overig",
        consent=True, sessions=[group.id],
    )  # fmt: skip
    signed_up = (series.registration_opens_at or group.meetings[0].starts_at) + timedelta(days=1)
    person = lifecycle.register(db, series, data, signed_up, secret_key).registration
    for n, meeting in enumerate(group.meetings):
        if n == 2:
            continue  # ill that week: the certificate names the meetings attended
        presence.scan(
            db, admin, group, client_id=f"demo-{person.id}-{group.key}-{meeting.key}",
            registration_id=person.id, now=meeting.starts_at + timedelta(minutes=3),
            via=Via.SEARCH,
        )  # fmt: skip
    db.commit()
    after = group.meetings[-1].ends_at + timedelta(days=1)
    return issuing.issue_all(db, admin, series, after).issued


def _referral(db: DbSession, password: str) -> int:
    """A GP refers a client to Welzijn op recept (with the client's consent to feedback),
    and two days later the series' coordinator has called her: "contacted", so the GP gets
    a short status mail. Returns the number of referrals made (0 without the series)."""
    series = db.scalars(select(Event).where(Event.slug == SERIES)).one_or_none()
    if series is None or not intake.takes_referrals(series):
        return 0
    referred = (series.registration_opens_at or series.starts_at) + timedelta(days=3)
    coordinator, _ = access.create_user(
        db, COORDINATOR_EMAIL, Role.ORGANISER, referred, event=series,
        name="Coördinator Rumi", password=password,
    )  # fmt: skip
    data = intake.ReferralInput(
        referrer_name="Dr. Pieter de Vries", referrer_organisation="Huisartsenpraktijk Oosterpark",
        referrer_profession="huisarts", referrer_email="demo.huisarts@example.org",
        referrer_phone="020 123 45 67", agb_code="01012345", client_name="Samira",
        client_phone="06 12 34 56 78", client_language="ar",
        themes=["eenzaamheid", "taal"],
        need="Voelt zich alleen sinds de verhuizing; slaapt slecht.",
        contact_consent=True, feedback_consent=True, submission_key="demo-referral-samira-01",
    )  # fmt: skip
    referral = intake.refer(db, series, data, referred).referral
    inbox.change_state(
        db, coordinator, referral, ReferralState.CONTACTED, referred + timedelta(days=2),
        note="Gebeld in het Arabisch; intake volgende week dinsdag.",
    )  # fmt: skip
    # Played in the series' past or future: its mails go now, not then.
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.referral_id == referral.id)
        .values(next_attempt_at=clock.now())
    )
    db.commit()
    return 1


def _rest_of_the_day(db: DbSession, scan: Any, people: list[Registration], at: Any) -> None:
    """The second lecture, round 2's other workshops and the forum, scanned at their doors:
    everyone stays, so their points show what the morning and round 1 cost them."""
    for i, person in enumerate(people):
        scan(person, "europees-onderzoek", at(10, 40) + timedelta(minutes=i % 5), via=Via.SCAN)
    for i, (person, row) in enumerate(zip(people, PEOPLE, strict=True)):
        if row[4] != "oefenen-in-kleine-groep":
            scan(person, row[4], at(14, 55) + timedelta(minutes=i % 6), via=Via.SCAN)
    for i, person in enumerate(people):
        scan(person, "afsluiting", at(16, 28) + timedelta(minutes=i % 3), via=Via.SCAN)
