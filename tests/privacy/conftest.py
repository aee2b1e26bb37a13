"""Fixtures of the privacy tests: the small event, registrations, delivered mail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from symposium.models import Event
from symposium.services.mail import delivery
from symposium.services.privacy.retention import Retention

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
def register(register):  # type: ignore[no-untyped-def]
    """tests/conftest.py's ``register``, with every optional detail filled in (phone, needs,
    organisation): the privacy tests check that each one is exported and anonymised."""

    def with_details(n, *session_ids, **extra):  # type: ignore[no-untyped-def]
        details = {"phone": "0612345678", "needs": "rolstoel", "organisation": "GGZ Oost"}
        return register(n, *session_ids, **(details | extra))

    return with_details


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
