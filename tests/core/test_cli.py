"""The commands of the README and the operator: demo, outbox."""

from sqlalchemy import select

from symposium.models import Event


def test_demo_loads_both_examples_and_serves(app, db, monkeypatch) -> None:
    served = {}
    monkeypatch.setattr(
        "symposium.cli.run_simple",
        lambda host, port, wsgi_app, **kw: served.update(host=host, port=port, app=wsgi_app),
    )
    monkeypatch.setattr("symposium.cli.threading.Thread.start", lambda self: None)
    result = app.test_cli_runner().invoke(args=["demo", "--port", "5099"])
    assert result.exit_code == 0, result.output
    slugs = set(db.session.scalars(select(Event.slug)))
    assert slugs == {"7roses-2027", "welzijn-op-recept-2027"}
    assert served == {"host": "127.0.0.1", "port": 5099, "app": app}
    # Running it again changes nothing.
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert "7roses-2027: no changes" in again.output
    assert "has registrations already" in again.output


def test_the_demo_plays_a_day_at_the_door(app, db, monkeypatch) -> None:
    from symposium.models import OutboxMessage, Presence, Registration, Session, Via

    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "13 registrations, 58 check-ins" in result.output
    assert "/door/7roses-2027/ as deur@example.org" in result.output
    rows = db.session.scalars(select(Presence).where(Presence.undone_at.is_(None))).all()
    by_session: dict[str, list[Presence]] = {}
    for row in rows:
        by_session.setdefault(db.session.get(Session, row.session_id).key, []).append(row)
    assert len(by_session["opening"]) == 10  # two did not come
    assert any(r.checked_in_via is Via.TYPED for r in by_session["opening"])  # the late one
    assert [r.registration.name for r in rows if r.admitted_anyway] == ["Lotte Visser"]
    walk_in = db.session.scalars(
        select(Registration).where(Registration.name == "Noor Hendriks")
    ).one()
    assert [r.checked_in_via for r in rows if r.registration_id == walk_in.id] == [Via.WALK_IN]
    chime = by_session["chime-in-de-praktijk"]
    early = [r for r in chime if r.checked_out_via is Via.SCAN]
    assert [r.registration.name for r in early] == ["Pieter de Vries"]
    assert all(r.checked_out_at is not None for r in chime)  # everyone left at the end
    paper = by_session["oefenen-in-kleine-groep"]
    assert len(paper) == 4 and all(r.checked_in_via is Via.PAPER for r in paper)
    # Before the day: the organiser's part of the privacy statement, agreed to by everyone,
    # and a message to one workshop's participants with a one-click unsubscribe.
    roses = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    versions = db.session.scalars(
        select(Registration.privacy_version).where(Registration.event_id == roses.id)
    )
    assert set(versions) == {"s1+e1"}
    bulk = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "organiser_message")
    )
    assert len(bulk.all()) >= 1


def test_outbox_lists_and_shows_queued_mail(app, db, small_event, clock) -> None:
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    event = db.session.get(Event, small_event["event"])
    lifecycle.register(
        db.session, event, validation.RegistrationInput(**registration_data(1)), clock.now, "t"
    )
    db.session.commit()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["outbox"]).output
    assert "registered" in listing and "deelnemer1@example.org" in listing
    assert "1 queued message(s)" in listing
    shown = runner.invoke(args=["outbox", "--show", "1"]).output
    assert "Subject: Uw inschrijving voor Klein symposium" in shown
    assert "/r/" in shown


def test_outbox_shows_failed_mail_with_its_error(app, db, small_event, clock) -> None:
    from symposium.models import OutboxMessage, OutboxStatus
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    event = db.session.get(Event, small_event["event"])
    lifecycle.register(
        db.session, event, validation.RegistrationInput(**registration_data(1)), clock.now, "t"
    )
    message = db.session.scalars(select(OutboxMessage)).one()
    message.status, message.attempts = OutboxStatus.FAILED, 8
    message.last_error = "550 5.1.1 No such user"
    db.session.commit()
    listing = app.test_cli_runner().invoke(args=["outbox", "--status", "failed"]).output
    assert "after 8 attempt(s): 550 5.1.1 No such user" in listing
    assert "1 failed message(s)" in listing
