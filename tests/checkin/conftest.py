"""Fixtures of the check-in tests: the small event's day, a door account, registrations by key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from symposium.models import Role, Session


# SMALL_EVENT's day, 4 February 2027, Europe/Amsterdam (UTC+1): the opening runs 09:30–10:30,
# round 1 (klein, psy) 13:00–14:30, round 2 (groot, ook-r2) 15:00–16:30, local time.
def local(hour: int, minute: int = 0, day: int = 4) -> datetime:
    """A local time on the event's day, as the aware UTC instant the code works with."""
    return datetime(2027, 2, day, hour - 1, minute, tzinfo=UTC)


@pytest.fixture
def register(register, small_event):  # type: ignore[no-untyped-def]
    """tests/conftest.py's ``register``, by session key."""

    def by_key(n, *keys, **extra):  # type: ignore[no-untyped-def]
        return register(n, *(small_event[k] for k in keys), **extra)

    return by_key


@pytest.fixture
def sessions(db, small_event):  # type: ignore[no-untyped-def]
    """The small event's sessions by key."""
    return {key: db.session.get(Session, i) for key, i in small_event.items() if key != "event"}


@pytest.fixture
def door(db, event, clock):  # type: ignore[no-untyped-def]
    """A door account of the small event."""
    from symposium.services.accounts import access

    user, _ = access.create_user(
        db.session,
        "deur@example.org",
        Role.DOOR,
        clock.now,
        event=event,
        password="deur-wachtwoord",
    )
    db.session.commit()
    return user
