"""Fixtures of the certificate tests: the small event (GAIA and NIP accredit it), presence as
the door leaves it, an organiser, and a mail sink that keeps whole messages."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from symposium.models import Role
from symposium.services.mail import delivery
from tests.accreditation.conftest import accredited, full_day, local, present  # noqa: F401
from tests.backoffice.test_admin import PASSWORD
from tests.checkin.conftest import door, register, sessions  # noqa: F401

__all__ = ["PASSWORD", "full_day", "local", "pdf_text"]


class Sink:
    """A mail backend that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, message, sender, recipient) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)

    def close(self) -> None:
        pass


@pytest.fixture
def deliver(app, db, clock):  # type: ignore[no-untyped-def]
    """Send every due message; returns the messages sent."""

    def deliver() -> list[EmailMessage]:
        sink = Sink()
        delivery.drain(db.session, sink, app.config, lambda: clock.now)
        return sink.messages

    return deliver


@pytest.fixture
def organiser(db, event, clock):  # type: ignore[no-untyped-def]
    from symposium.services.accounts import access

    user, _ = access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event, password=PASSWORD
    )
    db.session.commit()
    return user


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [
        (part.get_filename(), part.get_content())
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    ]
