"""The coordinators' inbox: who may see it, the steps, the audited views, the status mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, OutboxMessage, ReferralState, Role
from symposium.services.accounts import access
from symposium.services.core.errors import RuleError
from symposium.services.mail import render
from symposium.services.referrals import inbox
from tests.backoffice.test_admin import PASSWORD, login, quick_hashes, token  # noqa: F401
from tests.referrals.conftest import SLUG, make_referral

S = ReferralState


def routes(referral_id: int) -> list[tuple[str, str]]:
    base = f"/admin/events/{SLUG}/referrals"
    return [("GET", base), ("GET", f"{base}?state=new"), ("GET", f"{base}/{referral_id}"),
            ("POST", f"{base}/{referral_id}/state")]  # fmt: skip


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("coordinator", True), ("admin", True), ("symposium", False), ("door", False),
     ("other", False), ("anonymous", False)],
)  # fmt: skip
def test_only_the_series_coordinators_and_admins_see_referrals(
    quick_hashes,
    app,
    db,
    series,
    people,
    clock,
    persona,
    allowed,
) -> None:
    referral = make_referral(db, series, clock.now)
    client = app.test_client()
    if persona != "anonymous":
        assert login(client, f"{persona}@example.org").status_code == 303
    csrf = token(client.get("/admin/login").get_data(as_text=True))
    for method, url in routes(referral.id):
        data = {"csrf_token": csrf, "state": "contacted"} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        where = f"{method} {url} as {persona}"
        if persona == "anonymous":
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/admin/login"), where
        elif allowed:
            assert response.status_code in (200, 303), where
        else:
            assert response.status_code == 403, where
            assert "K.L." not in response.get_data(as_text=True)
    # The series' own menu shows the inbox to those who may open it only.
    page = client.get(f"/admin/events/{SLUG}/").get_data(as_text=True)
    assert (f"/admin/events/{SLUG}/referrals" in page) is allowed
    db.session.expire_all()
    assert (referral.state is S.CONTACTED) is allowed


def test_a_symposium_has_no_inbox(quick_hashes, app, db, series, people) -> None:
    client = app.test_client()
    login(client, "admin@example.org")
    assert client.get("/admin/events/7roses-2027/referrals").status_code == 404
    assert client.get("/admin/events/7roses-2027/referrals/1").status_code == 404


def test_every_look_at_a_referral_is_in_the_audit_log(
    quick_hashes,
    app,
    db,
    series,
    people,
    clock,
) -> None:
    referral = make_referral(db, series, clock.now)
    client = app.test_client()
    login(client, "coordinator@example.org")
    for _ in range(2):
        assert client.get(f"/admin/events/{SLUG}/referrals/{referral.id}").status_code == 200
    login(client, "admin@example.org")
    client.get(f"/admin/events/{SLUG}/referrals/{referral.id}")
    seen = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "referral_viewed").order_by(AuditEntry.id)
    ).all()
    who = [e.user_id for e in seen]
    assert who == [people["coordinator"].id] * 2 + [people["admin"].id]
    assert {e.target for e in seen} == {f"referral {referral.reference}"}
    assert all(e.at == clock.now for e in seen)
    # The list does not count as a look at a referral's details; the audit page reads it.
    client.get(f"/admin/events/{SLUG}/referrals")
    log = client.get(f"/admin/events/{SLUG}/audit?lang=en").get_data(as_text=True)
    assert f"Referral {referral.reference} looked at" in log


def test_steps_allowed_and_refused(db, series, people, clock) -> None:
    referral = make_referral(db, series, clock.now)
    coordinator = people["coordinator"]
    with pytest.raises(RuleError) as refused:
        inbox.change_state(db.session, coordinator, referral, S.PLACED, clock.now)
    assert refused.value.code == "step_not_allowed"
    for step in (S.CONTACTED, S.INTAKE_DONE, S.WAITING):
        inbox.change_state(db.session, coordinator, referral, step, clock.now, note=f"{step}")
    with pytest.raises(RuleError) as no_group:
        inbox.change_state(db.session, coordinator, referral, S.PLACED, clock.now)
    assert no_group.value.field == "group"
    group = inbox.groups_of(series)[0]
    inbox.change_state(db.session, coordinator, referral, S.PLACED, clock.now, group_id=group.id)
    assert referral.group_id == group.id
    inbox.change_state(db.session, coordinator, referral, S.CLOSED, clock.now)
    assert referral.closed_at == clock.now
    with pytest.raises(RuleError):
        inbox.change_state(db.session, coordinator, referral, S.NEW, clock.now)
    assert [c.to_state for c in referral.changes] == [
        S.CONTACTED, S.INTAKE_DONE, S.WAITING, S.PLACED, S.CLOSED
    ]  # fmt: skip
    assert all(c.user_id == coordinator.id for c in referral.changes)
    assert inbox.STEPS[S.CLOSED] == ()
    assert set(inbox.STEPS) == set(S)


def test_a_step_with_a_note_through_the_page_and_refused_next_to_the_field(
    quick_hashes,
    app,
    db,
    series,
    people,
    clock,
) -> None:
    referral = make_referral(db, series, clock.now)
    client = app.test_client()
    login(client, "coordinator@example.org")
    url = f"/admin/events/{SLUG}/referrals/{referral.id}"
    csrf = token(client.get(url).get_data(as_text=True))
    refused = client.post(f"{url}/state?lang=en", data={"csrf_token": csrf, "state": "placed"})
    assert refused.status_code == 422  # not a step from "new"
    done = client.post(f"{url}/state", data={"csrf_token": csrf, "state": "contacted",
                                             "note": "Gebeld; intake dinsdag."})  # fmt: skip
    assert done.status_code == 303
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Gebeld; intake dinsdag." in page and "Coordinator" in page
    placed = client.post(f"{url}/state?lang=en", data={"csrf_token": csrf, "state": "intake_done"})
    assert placed.status_code == 303
    no_group = client.post(f"{url}/state?lang=en", data={"csrf_token": csrf, "state": "placed"})
    assert no_group.status_code == 422
    assert 'id="group-error"' in no_group.get_data(as_text=True)


def test_status_mail_only_with_feedback_consent_and_without_health_details(
    db, series, people, clock
) -> None:
    told = make_referral(db, series, clock.now, themes=["huiselijk-geweld"])
    silent = make_referral(db, series, clock.now, feedback_consent=False)
    coordinator = people["coordinator"]
    veilig = next(g for g in inbox.groups_of(series) if g.key == "veilig-thuis")
    for referral in (told, silent):
        for step in (S.CONTACTED, S.INTAKE_DONE, S.PLACED):
            inbox.change_state(
                db.session, coordinator, referral, step, clock.now,
                note="Intake: veel zorgen om de kinderen.", group_id=veilig.id,
            )  # fmt: skip
    db.session.commit()
    render.render_pending(db.session)
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    about = {(m.referral_id, m.kind) for m in mails}
    assert about == {(told.id, "referral_received"), (told.id, "referral_status"),
                     (silent.id, "referral_received")}  # fmt: skip
    status = [m for m in mails if m.kind == "referral_status"]
    assert len(status) == 2  # contacted and placed; not "intake done"
    contacted, placed = status
    assert "a coordinator has contacted your client" in contacted.body_text
    assert "your client has a place in one of our groups" in placed.body_text
    for mail in status:
        text = mail.subject + mail.body_text + mail.body_html
        assert told.reference in text
        for secret in ("K.L.", "Eenzaam", "zorgen", "Veilig", "huiselijk", "Huiselijk",
                       "Türk", "0612345678"):  # fmt: skip
            assert secret not in text, secret
    # Declining is told too.
    other = make_referral(db, series, clock.now)
    inbox.change_state(db.session, coordinator, other, S.DECLINED, clock.now)
    assert db.session.scalar(
        select(OutboxMessage.render_context).where(
            OutboxMessage.referral_id == other.id, OutboxMessage.kind == "referral_status"
        )
    ) == {"referral": "referral_status", "state": "declined"}


def test_a_new_referral_waiting_more_than_five_working_days_is_marked(
    quick_hashes,
    app,
    db,
    series,
    people,
    clock,
) -> None:
    monday = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
    referral = make_referral(db, series, monday)
    contacted = make_referral(db, series, monday)
    inbox.change_state(db.session, people["coordinator"], contacted, S.CONTACTED, monday)
    db.session.commit()
    client = app.test_client()
    login(client, "coordinator@example.org")
    for now, age, overdue in [
        (monday + timedelta(days=6), 4, False),  # the next Sunday: Tue-Fri
        (monday + timedelta(days=7), 5, False),  # Monday: five working days
        (monday + timedelta(days=8), 6, True),  # Tuesday: six
    ]:
        clock.now = now
        assert inbox.age(referral, now) == age
        assert inbox.is_overdue(referral, now) is overdue
        assert not inbox.is_overdue(contacted, now)
        page = client.get(f"/admin/events/{SLUG}/referrals?lang=en").get_data(as_text=True)
        assert ('class="overdue"' in page) is overdue
        assert page.count('class="overdue"') == int(overdue)
        assert ("waiting too long" in page) is overdue


def test_working_days() -> None:
    friday = datetime(2027, 1, 22).date()
    assert inbox.working_days(friday, friday) == 0
    assert inbox.working_days(friday, friday + timedelta(days=3)) == 1  # to Monday
    assert inbox.working_days(friday, friday + timedelta(days=14)) == 10


def test_a_double_click_on_a_step_takes_it_once_and_mails_once(db, series, people, clock) -> None:
    referral = make_referral(db, series, clock.now)
    coordinator = people["coordinator"]
    first = inbox.change_state(db.session, coordinator, referral, S.CONTACTED, clock.now)
    db.session.commit()
    second = inbox.change_state(db.session, coordinator, referral, S.CONTACTED, clock.now)
    db.session.commit()
    assert second.id == first.id and len(referral.changes) == 1
    status = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "referral_status")
    ).all()
    assert len(status) == 1


def test_the_audit_log_shows_referrals_only_to_their_coordinators(
    quick_hashes, app, db, series, people, clock
) -> None:
    referral = make_referral(db, series, clock.now)
    inbox.change_state(db.session, people["coordinator"], referral, S.CONTACTED, clock.now)
    db.session.commit()
    everywhere = access.create_user(
        db.session, "everywhere@example.org", Role.ORGANISER, clock.now, password=PASSWORD
    )[0]
    db.session.commit()
    assert everywhere is not None
    seen = {}
    for who in ("coordinator@example.org", "everywhere@example.org"):
        client = app.test_client()
        login(client, who)
        seen[who] = client.get(f"/admin/events/{SLUG}/audit").get_data(as_text=True)
    assert referral.reference in seen["coordinator@example.org"]
    assert referral.reference not in seen["everywhere@example.org"]
