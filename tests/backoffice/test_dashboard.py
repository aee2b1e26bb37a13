"""The event dashboard: right numbers for a known scenario, who may see it, and a bounded
number of SQL statements however many registrations there are."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, update

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    OutboxMessage,
    OutboxStatus,
    Profession,
    Registration,
    RegistrationStatus,
    Role,
    SessionQuota,
)
from symposium.services.accounts import access
from symposium.services.backoffice import dashboard
from symposium.services.mail import outbox, render
from symposium.services.registration import lifecycle, validation
from tests.backoffice.test_admin import PASSWORD, login
from tests.conftest import registration_data


def register(db, event, n, profession, sessions, when, clock):  # type: ignore[no-untyped-def]
    clock.now = when
    data = validation.RegistrationInput(**registration_data(n, profession), sessions=sessions)
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


@pytest.fixture
def scenario(app, db, small_event, clock):  # type: ignore[no-untyped-def]
    """Four people on three local days, one cancelled, one failed mail.

    p1 (GZ-psycholoog: klein + ook-r2) and p2 (GP: klein) on 20 November; p3 (GP: klein +
    ook-r2, waitlisted there) at 23:30 UTC on 21 November, which is 22 November in Amsterdam;
    p4 (GP: klein, waitlisted by the GP quota of 2) on 22 November; p1 cancels on 23 November,
    which promotes p3 into ook-r2.
    """
    event = db.session.get(Event, small_event["event"])
    klein, ook = small_event["klein"], small_event["ook-r2"]
    p1 = register(db, event, 1, "gz-psycholoog", [klein, ook], utc(2026, 11, 20, 10), clock)
    register(db, event, 2, "huisarts", [klein], utc(2026, 11, 20, 15), clock)
    register(db, event, 3, "huisarts", [klein, ook], utc(2026, 11, 21, 23, 30), clock)
    register(db, event, 4, "huisarts", [klein], utc(2026, 11, 22, 9), clock)
    clock.now = utc(2026, 11, 23, 12)
    lifecycle.cancel_registration(db.session, p1, clock.now)
    db.session.commit()
    render.render_pending(db.session)  # written when sent; write them now to read them
    sent = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "registered").order_by(OutboxMessage.id)
    ).all()
    sent[1].status = OutboxStatus.FAILED
    sent[1].attempts = 5
    sent[1].last_error = "550 5.1.1 mailbox unavailable"
    # Mail tied to no registration (a password reset) is no event's business.
    stray = outbox.compose(
        to_address="admin@example.org",
        language="nl",
        kind="password_reset",
        subject="Reset",
        body="x",
        now=clock.now,
    )
    stray.status = OutboxStatus.FAILED
    db.session.add(stray)
    db.session.commit()
    return event


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_numbers_of_a_known_scenario(db, scenario, small_event, clock) -> None:
    board = dashboard.event_dashboard(db.session, scenario, clock.now)

    # Every local day from the opening (1 November) to today, days without change too.
    assert board.days[0].day == date(2026, 11, 1) and board.days[-1].day == date(2026, 11, 23)
    assert len(board.days) == 23
    by_day = {d.day: (d.new, d.cancelled, d.total) for d in board.days}
    assert by_day[date(2026, 11, 19)] == (0, 0, 0)
    assert by_day[date(2026, 11, 20)] == (2, 0, 2)
    assert by_day[date(2026, 11, 21)] == (0, 0, 2)  # 23:30 UTC is already the 22nd locally
    assert by_day[date(2026, 11, 22)] == (2, 0, 4)
    assert by_day[date(2026, 11, 23)] == (0, 1, 3)
    assert (board.active, board.cancelled, board.today) == (3, 1, date(2026, 11, 23))
    assert board.new_last_week == 4

    assert [r.title for r in board.rounds] == ["Ronde 1", "Ronde 2"]  # no plenary opening
    fill = {s.title: (s.confirmed, s.waitlisted, s.capacity) for s in board.sessions}
    assert fill == {
        "Kleine workshop": (2, 1, 10),  # p1 cancelled; p4 waits for the GP quota
        "Alleen psy": (0, 0, 5),
        "Grote workshop": (0, 0, None),
        "Andere workshop ronde 2": (1, 0, 1),  # p3 promoted after p1 cancelled
    }
    assert [s.title for s in board.near_full] == ["Andere workshop ronde 2"]

    (gp,) = board.professions  # the cancelled GZ-psycholoog counts no more
    assert (gp.profession.code, gp.active) == ("huisarts", 3)
    (quota,) = gp.quotas
    assert (quota.session_title, quota.used, quota.places) == ("Kleine workshop", 2, 2)
    assert quota.reached and not quota.over

    # One mail per change: four confirmations (one failed), p1's cancellation, p3's promotion.
    assert board.mail == {"queued": 5, "sent": 0, "failed": 1}
    assert board.failed_total == 1
    (failed,) = board.failed
    assert failed.to_address == "deelnemer2@example.org"
    assert (failed.attempts, failed.last_error) == (5, "550 5.1.1 mailbox unavailable")
    assert "Klein symposium" in failed.subject


def test_near_full_rule() -> None:
    def fill(capacity: int | None, confirmed: int) -> dashboard.SessionFill:
        return dashboard.SessionFill(1, "s", capacity, confirmed, 0)

    assert not fill(10, 8).near_full
    assert fill(10, 9).near_full and not fill(10, 9).full
    assert fill(10, 10).full and fill(10, 10).near_full
    assert fill(0, 0).full and fill(0, 0).fill == 1.0
    assert not fill(None, 500).near_full and fill(None, 500).fill is None
    assert fill(4, 2).fill == 0.5


def test_before_registration_opens_there_is_nothing_to_chart(db, small_event, clock) -> None:
    event = db.session.get(Event, small_event["event"])
    event.registration_opens_at = utc(2026, 12, 1, 8)
    db.session.commit()
    board = dashboard.event_dashboard(db.session, event, clock.now)
    assert board.days == [] and board.active == 0
    (gp,) = board.professions  # a quota is shown before anyone uses it
    assert gp.active == 0 and [(q.used, q.places) for q in gp.quotas] == [(0, 2)]
    assert board.mail == {"queued": 0, "sent": 0, "failed": 0} and board.failed == []


# --------------------------------------------------------------------------- the page


@pytest.fixture
def people(db, scenario, clock):  # type: ignore[no-untyped-def]
    for key, role, event in [
        ("admin", Role.ADMIN, None),
        ("organiser", Role.ORGANISER, scenario),
        ("door", Role.DOOR, scenario),
    ]:
        access.create_user(
            db.session, f"{key}@example.org", role, clock.now, event=event, password=PASSWORD
        )
    db.session.commit()


def row(page: str, title: str) -> str:
    """The table row of one session."""
    return re.search(rf'<tr class="([^"]*)">\s*<th scope="row" class="session-col">{title}</th>'
                     r"(.*?)</tr>", page, re.S).group(0)  # fmt: skip


@pytest.mark.parametrize("persona", ["organiser", "admin"])
def test_page_for_organiser_and_admin(client, people, persona) -> None:
    assert login(client, f"{persona}@example.org").status_code == 303
    response = client.get("/admin/events/klein/dashboard?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<svg" in page and '<title id="chart-title">' in page and "<desc" in page
    assert "<script" not in page and 'src="http' not in page  # drawn here, nothing fetched
    hidden = re.search(r'<div class="visually-hidden">.*?</table>', page, re.S).group(0)
    assert "<caption>Registrations per day</caption>" in hidden
    assert '<th scope="row">Nov 22, 2026</th><td>2</td><td>0</td><td>4</td>' in hidden
    full = row(page, "Andere workshop ronde 2")
    assert full.startswith('<tr class="full">') and "1 / 1" in full and "flag-full" in full
    assert row(page, "Kleine workshop").startswith('<tr class="">')
    assert "Kleine workshop: 2/2" in page  # the GP quota in the profession table
    assert "deelnemer2@example.org" in page and "550 5.1.1 mailbox unavailable" in page
    assert "admin@example.org</strong>" not in page  # the stray password-reset mail


def test_page_shows_a_quota_exceeded(client, db, people, small_event) -> None:
    # A quota below what is already confirmed (the back-office refuses to set one, but it
    # can be set outside it): the dashboard shows it rather than hiding it.
    gp = db.session.scalar(select(Profession.id).where(Profession.code == "huisarts"))
    db.session.execute(
        update(SessionQuota)
        .where(SessionQuota.session_id == small_event["klein"], SessionQuota.profession_id == gp)
        .values(places=1)
    )
    db.session.commit()
    login(client, "organiser@example.org")
    page = client.get("/admin/events/klein/dashboard?lang=en").get_data(as_text=True)
    assert "Kleine workshop: 2/1 (over the quota)" in page


def test_page_is_closed_to_the_door(client, people) -> None:
    login(client, "door@example.org")
    assert client.get("/admin/events/klein/dashboard").status_code == 403
    assert client.get("/admin/events/nope/dashboard").status_code == 404


def test_page_without_registrations(client, db, small_event, clock) -> None:
    access.create_user(db.session, "o@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    login(client, "o@example.org")
    response = client.get("/admin/events/klein/dashboard")
    assert response.status_code == 200 and "<svg" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- the home page


@pytest.fixture
def two_events(db, scenario, small_event, load_example, clock):  # type: ignore[no-untyped-def]
    """The scenario plus p5 (GP), waiting for two sessions, and an event with nobody yet."""
    register(db, scenario, 5, "huisarts", [small_event["klein"], small_event["ook-r2"]],
             clock.now, clock)  # fmt: skip
    load_example("7roses-symposium.toml")
    other = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    return scenario, other


def test_home_counts_per_event_in_three_statements(db, two_events) -> None:
    klein, other = two_events
    waiting = db.session.scalars(
        select(Enrolment.registration_id).where(Enrolment.status == EnrolmentStatus.WAITLISTED)
    ).all()
    assert len(waiting) == 3 and len(set(waiting)) == 2  # p4 once, p5 for both sessions
    with StatementCounter(db.engine) as counter:
        counts = dashboard.event_counts(db.session, [klein, other])
    assert len(counter.statements) <= 4, counter.statements  # three SELECTs (and a BEGIN)
    assert counts == {
        # p2..p5 active (p1 cancelled); p4 and p5 wait, p5 counted once; the stray failed
        # password-reset mail is no event's
        klein.id: dashboard.EventCounts(active=4, waiting=2, failed_mail=1),
        other.id: dashboard.EventCounts(0, 0, 0),
    }
    assert dashboard.event_counts(db.session, []) == {}


@pytest.mark.parametrize("persona", ["organiser", "admin", "door"])
def test_home_shows_each_managed_events_counts_with_links(
    client, db, two_events, people, persona
) -> None:
    assert login(client, f"{persona}@example.org").status_code == 303
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Klein symposium" in page
    if persona == "door":  # the door's accounts reach neither the lists nor the dashboard
        assert "active registration" not in page and "failed mail" not in page
        return
    assert '<a href="/admin/events/klein/participants/">4 active registrations</a>' in page
    assert '<a href="/admin/events/klein/#places-heading">2 people on a waiting list</a>' in page
    assert '<li class="alert"><a href="/admin/events/klein/dashboard#mail">1 failed mail</a>' in (
        page
    )
    if persona == "admin":  # every event, also one with nothing yet
        assert "0 active registrations" in page and "0 people on a waiting list" in page
        assert '<li><a href="/admin/events/7roses-2027/dashboard#mail">0 failed mails</a>' in page


# --------------------------------------------------------------------------- scale


class StatementCounter:
    """Counts the SQL statements sent to the database while active."""

    def __init__(self, engine):  # type: ignore[no-untyped-def]
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self) -> StatementCounter:
        sa_event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)


def bulk_load(db, event: Event, small_event: dict, n: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """``n`` registrations with enrolments and mail, inserted in bulk (not via the service)."""
    professions = db.session.scalars(select(Profession.id).order_by(Profession.id)).all()[:5]
    opens = event.registration_opens_at
    rows = []
    for i in range(n):
        created = opens + (now - opens) * i / n
        cancelled = i % 10 == 0
        rows.append(
            {
                "event_id": event.id,
                "email": f"bulk{i}@example.org",
                "name": f"Bulk {i}",
                "profession_id": professions[i % len(professions)],
                "status": RegistrationStatus.CANCELLED if cancelled else RegistrationStatus.ACTIVE,
                "token_nonce": f"n{i}",
                "checkin_code": f"{i:013d}",
                "token_hash": f"t{i}",
                "feed_nonce": f"f{i}",
                "feed_token_hash": f"ft{i}",
                "created_at": created,
                "consent_at": created,
                "cancelled_at": created + timedelta(hours=1) if cancelled else None,
            }
        )
    db.session.execute(insert(Registration.__table__), rows)
    registrations = db.session.execute(
        select(Registration.id, Registration.profession_id, Registration.status)
        .where(Registration.event_id == event.id, Registration.email.like("bulk%"))
        .order_by(Registration.id)
    ).all()
    enrolments, mails = [], []
    waiting: dict[int, int] = {}
    for i, (rid, profession, status) in enumerate(registrations):
        for session in (
            small_event["klein"] if i % 2 else small_event["psy"],
            small_event["groot"],
        ):
            if status is RegistrationStatus.CANCELLED:
                state, position = EnrolmentStatus.CANCELLED, None
            elif session == small_event["groot"] or i < 20:
                state, position = EnrolmentStatus.CONFIRMED, None
            else:
                state = EnrolmentStatus.WAITLISTED
                position = waiting[session] = waiting.get(session, 0) + 1
            enrolments.append(
                {
                    "registration_id": rid,
                    "session_id": session,
                    "profession_id": profession,
                    "status": state,
                    "waitlist_position": position,
                    "created_at": now,
                    "changed_at": now,
                }
            )
        mails.append(
            {
                "created_at": now,
                "registration_id": rid,
                "kind": "registered",
                "to_address": f"bulk{i}@example.org",
                "language": "nl",
                "subject": "Aanmelding",
                "body_text": "x",
                "message_id": f"<bulk{i}@example.org>",
                "status": OutboxStatus.FAILED if i % 100 == 0 else OutboxStatus.SENT,
                "attempts": 1,
                "next_attempt_at": now,
                "last_error": "550 no such user" if i % 100 == 0 else "",
            }
        )
    db.session.execute(insert(Enrolment.__table__), enrolments)
    db.session.execute(insert(OutboxMessage.__table__), mails)
    db.session.commit()


def test_dashboard_of_5000_registrations_takes_a_bounded_number_of_statements(
    client, db, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    bulk_load(db, event, small_event, 5000, clock.now)
    db.session.expire_all()
    assert event.timezone == "Europe/Amsterdam"  # the event itself is loaded by the route

    with StatementCounter(db.engine) as counter:
        board = dashboard.event_dashboard(db.session, event, clock.now)
    # Eight grouped SELECTs (plus a BEGIN on SQLite), the same for 5 or 5,000 registrations.
    assert len(counter.statements) <= 10, counter.statements

    assert sum(d.new for d in board.days) == 5000
    assert board.active == 4500 and board.cancelled == 500 and board.days[-1].total == 4500
    assert sum(p.active for p in board.professions) == 4500
    fill = {s.title: (s.confirmed, s.waitlisted) for s in board.sessions}
    assert fill["Grote workshop"] == (4500, 0)
    assert sum(c for c, _ in fill.values()) == 4500 + 18  # 20 first, two of them cancelled
    assert board.failed_total == 50 and len(board.failed) == dashboard.FAILED_SHOWN
    assert board.mail == {"queued": 0, "sent": 4950, "failed": 50}

    access.create_user(db.session, "o@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    db.session.commit()
    login(client, "o@example.org")
    with StatementCounter(db.engine) as counter:
        response = client.get("/admin/events/klein/dashboard")
    assert response.status_code == 200
    # Sign-in user, event, memberships, the dashboard's own statements and the door figures
    # (sessions, places, registrations, presences, admitted anyway); none per row.
    assert len(counter.statements) <= 21, counter.statements
