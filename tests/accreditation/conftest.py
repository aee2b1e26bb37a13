"""Fixtures of the accreditation tests: the small event (accredited by GAIA and the NIP),
presence written as the door would leave it, and the event's accreditations by register."""

from __future__ import annotations

from datetime import datetime

import pytest

from symposium.models import Presence, Registration, Session, Via
from tests.checkin.conftest import door, local, register, sessions  # noqa: F401


@pytest.fixture
def present(db, sessions):  # type: ignore[no-untyped-def]
    """Record that a registration was in a session (by key), from ``at`` to ``left``."""

    def present(
        registration: Registration, key: str | Session, at: datetime, left: datetime | None = None
    ) -> Presence:
        session_id = key.id if isinstance(key, Session) else sessions[key].id
        row = Presence(
            session_id=session_id, registration_id=registration.id, checked_in_at=at,
            checked_in_via=Via.SCAN, checked_out_at=left,
            checked_out_via=Via.SCAN if left else None, recorded_at=at,
        )  # fmt: skip
        db.session.add(row)
        db.session.commit()
        return row

    return present


@pytest.fixture
def accredited(db, event):  # type: ignore[no-untyped-def]
    """The small event's accreditations by register code."""
    from symposium.services.accreditation import points

    return {a.register.code: a for a in points.accreditations(db.session, event)}


def full_day(present, person, *workshops: str) -> None:  # type: ignore[no-untyped-def]
    """In the opening and the given workshops from start to end."""
    present(person, "opening", local(9, 25), local(10, 30))
    times = {"klein": (13, 14), "psy": (13, 14), "groot": (15, 16), "ook-r2": (15, 16)}
    for key in workshops:
        start, end = times[key]
        present(person, key, local(start, 0), local(end, 30))
