"""Fixtures of the privacy tests: the small event, registrations, delivered mail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from symposium.models import Event
from symposium.services.mail import delivery
from symposium.services.privacy.retention import Retention
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import registration_data

SECRET = "test"
RETENTION = Retention(personal_days=90, accreditation_days=120)


class Sink:
    """A mail backend that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message, sender, recipient) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(recipient)

    def close(self) -> None:
        pass


@pytest.fixture
def event(db, small_event) -> Event:
    return db.session.get(Event, small_event["event"])


@pytest.fixture
def register(db, event, clock):  # type: ignore[no-untyped-def]
    """Register person ``n`` in these sessions and commit, as a view would."""

    def register(n, *session_ids, profession="gz-psycholoog", **extra):  # type: ignore[no-untyped-def]
        data = RegistrationInput(
            **registration_data(
                n,
                profession,
                phone="0612345678",
                needs="rolstoel",
                organisation="GGZ Oost",
                **extra,
            )
        )
        data.sessions = list(session_ids)
        outcome = lifecycle.register(db.session, event, data, clock.now, SECRET)
        db.session.commit()
        return outcome

    return register


@pytest.fixture
def deliver(app, db, clock):  # type: ignore[no-untyped-def]
    """Send every queued message (rendered, marked sent)."""

    def deliver() -> Sink:
        sink = Sink()
        delivery.drain(db.session, sink, app.config, lambda: clock.now)
        return sink

    return deliver


def after_event(event: Event, days: float) -> object:
    return event.ends_at + timedelta(days=days)
