"""Deliver the outbox: claim a due message, send it, record the outcome.

A message is claimed in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never wait for each other; the single writer of an immediate transaction on SQLite)
that reserves it for ``MAIL_LEASE_SECONDS``. It is sent outside any transaction, and the result
is written in a second one. Several workers therefore never send a message twice, and a worker
that dies mid-send leaves the message to be retried once its lease runs out; its stable
Message-ID lets the receiving side recognise such a repeat.

Delivery is at least once. When the connection is cut after the whole message went out and
before the server replied, the worker cannot know whether the server accepted it: it sends
the message again and counts the attempt in ``maybe_sent`` (shown on the dashboard and by
``flask outbox``), so every possible duplicate is on record.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from symposium.models import OutboxMessage, OutboxStatus, Referral, Registration
from symposium.services.certificates import document
from symposium.services.checkin import tickets
from symposium.services.core.locking import begin_write
from symposium.services.mail import outbox, render

log = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    """Worth retrying later: the server is away or answered 4xx."""


class PermanentFailure(Exception):
    """Retrying will not help: the server answered 5xx for this message."""


class MaybeSent(TemporaryFailure):
    """The message went out whole, then the reply was lost: the server may have accepted it."""


class _ReplyLost(smtplib.SMTPServerDisconnected):
    """The connection ended while waiting for the reply to the message's final dot."""


class _KnowsWhenDataWentOut:
    """Tells a lost reply to the message itself apart from any other lost connection.

    smtplib's ``data`` reads two replies: the 354 to DATA (nothing sent yet) and, once the
    whole message and its final dot have been written, the verdict on the message. Only a
    connection lost while reading the second leaves the outcome unknown.
    """

    _data_replies: int | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._data_replies = 0
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self._data_replies = None

    def getreply(self) -> tuple[int, bytes]:
        if self._data_replies is not None:
            self._data_replies += 1
        try:
            return super().getreply()  # type: ignore[misc]
        except smtplib.SMTPServerDisconnected as exc:
            if self._data_replies == 2:
                raise _ReplyLost(str(exc)) from exc
            raise


class _SMTP(_KnowsWhenDataWentOut, smtplib.SMTP):
    pass


class _SMTPSSL(_KnowsWhenDataWentOut, smtplib.SMTP_SSL):
    pass


class Backend(Protocol):
    def send(self, message: EmailMessage, sender: str, recipient: str) -> None: ...

    def close(self) -> None: ...


def build_message(
    row: OutboxMessage,
    sender: str,
    attachments: Sequence[tuple[bytes, str]] = (),
    *,
    reply_to: str | None = None,
) -> EmailMessage:
    """The MIME message: text and HTML alternatives, plus the iTIP invite when there is one,
    and ``attachments`` (PDF bytes, file name), e.g. a certificate.

    A ticket's QR code makes the HTML part multipart/related (the HTML and the PNG it
    shows by ``cid:``). With an invite: multipart/mixed holding multipart/alternative
    (plain, HTML and text/calendar with the method, inline) and the same calendar attached
    as invite.ics, the shape Outlook, Google and Apple calendars all accept.

    ``sender`` is the From header (see :func:`sender_for`), ``reply_to`` where answers go.
    Every message is marked ``Auto-Submitted: auto-generated`` (RFC 3834), so that
    vacation responders stay silent, also Exchange's (X-Auto-Response-Suppress).
    """
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.to_address
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    message["Content-Language"] = row.language
    if row.list_unsubscribe:  # bulk mail only (mail.messages): one click, RFC 8058
        message["List-Unsubscribe"] = f"<{row.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(row.body_text, cte="quoted-printable")
    message.add_alternative(row.body_html or row.body_text, subtype="html", cte="quoted-printable")
    if row.qr_code and row.body_html:
        # multipart/related: the HTML part and the QR image its cid: link shows.
        html = message.get_payload()[1]
        html.add_related(
            tickets.qr_png(row.qr_code), "image", "png",
            cid=f"<{render.qr_cid(row.message_id)}>", disposition="inline",
            filename="ticket-qr.png",
        )  # fmt: skip
    if row.calendar:
        calendar = row.calendar.encode()
        params = {"method": row.calendar_method or "REQUEST", "charset": "UTF-8"}
        message.add_alternative(calendar, "text", "calendar", params=params, cte="base64")
        message.make_mixed()
        message.add_attachment(
            calendar, "text", "calendar", params=params, filename="invite.ics", cte="base64"
        )
    for body, name in attachments:
        message.add_attachment(body, "application", "pdf", filename=name)
    return message


def sender_for(db: DbSession, row: OutboxMessage, mail_sender: str) -> tuple[str, str | None]:
    """(From, Reply-To) of a message: about an event, the organiser's name at our own
    address, and replies to the organiser's address; otherwise MAIL_SENDER, no Reply-To.

    Never the organiser's address in From: their domain's DMARC policy would have the
    receiving servers refuse or file as spam mail we send for them. The invitations'
    ORGANIZER is the same address as From (``render.sender_address``), as iMIP asks.
    """
    event = None
    if row.registration_id:
        registration = db.get(Registration, row.registration_id)
        event = registration.event if registration is not None else None
    elif row.referral_id:  # a referral's receipt or news: the series' coordinators answer
        referral = db.get(Referral, row.referral_id)
        event = referral.event if referral is not None else None
    if event is None:
        return mail_sender, None
    name = " ".join((event.organiser_name or event.title).split())
    sender = str(Address(display_name=name, addr_spec=parseaddr(mail_sender)[1]))
    reply_to = None
    if event.organiser_email:
        try:
            reply_to = str(Address(addr_spec=event.organiser_email.strip()))
        except (ValueError, IndexError):  # not an address: no Reply-To rather than no mail
            reply_to = None
    return sender, reply_to


def attachments(db: DbSession, row: OutboxMessage) -> list[tuple[bytes, str]]:
    """What the message carries besides its text: a certificate's PDF, built now by the
    worker (see ``certificates.document.for_mail``); :class:`render.Withdrawn` when the
    certificate was revoked or deleted since the message was queued."""
    if row.certificate_id is None:
        if row.kind == "certificate":
            raise render.Withdrawn("the certificate of this message no longer exists")
        return []
    found = document.for_mail(db, row.certificate_id)
    if found is None:
        raise render.Withdrawn("the certificate of this message was revoked or deleted")
    certificate, body = found
    return [(body, document.filename(certificate))]


class FileBackend:
    """Writes each message as an .eml file: the demo needs no mail server."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        name = message["Message-ID"].strip("<>").replace("/", "_")
        (self.directory / f"{name}.eml").write_bytes(message.as_bytes(policy=SMTP))

    def close(self) -> None:
        pass


class SmtpBackend:
    """One SMTP connection, opened when first needed and reused for a batch."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        cls = _SMTPSSL if c["MAIL_USE_SSL"] else _SMTP
        connection = cls(c["MAIL_SERVER"], int(c["MAIL_PORT"]), timeout=c["MAIL_TIMEOUT"])
        if c["MAIL_USE_STARTTLS"]:
            connection.starttls()
        if c["MAIL_USERNAME"]:
            connection.login(c["MAIL_USERNAME"], c["MAIL_PASSWORD"] or "")
        return connection

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            raise _classify(min(codes), str(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _classify(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except _ReplyLost as exc:
            self.close()
            raise MaybeSent(
                f"no reply after the message was sent; it may have been delivered: {exc}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timeout, DNS
            self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.quit()
            self.connection = None


def _classify(code: int, text: str) -> Exception:
    return TemporaryFailure(text) if 400 <= code < 500 else PermanentFailure(text)


def backend_for(config: dict[str, Any], instance_path: str) -> Backend:
    if config["MAIL_BACKEND"] == "smtp":
        return SmtpBackend(config)
    return FileBackend(config["MAIL_FILE_DIR"] or str(Path(instance_path) / "mail"))


def claim(db: DbSession, now: datetime, lease: timedelta) -> OutboxMessage | None:
    """Reserve the next due message for this worker, or None when nothing is due."""
    begin_write(db)
    row = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # SQLite: ignored; its write lock is held instead
    ).first()
    if row is None:
        db.rollback()
        return None
    row.attempts += 1
    row.next_attempt_at = now + lease
    db.commit()
    return row


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = (
        0  # nothing left to send: a password link without an account, a revoked certificate
    )

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.dropped


def drain(
    db: DbSession,
    backend: Backend,
    config: dict[str, Any],
    clock: Callable[[], datetime],
    limit: int | None = None,
) -> DrainResult:
    """Send every due message (at most ``limit``); the outcome of each is committed at once.

    ``clock`` is asked again for every claim and every outcome, never once for the whole
    drain: a long drain would otherwise give late claims a lease that has already run out,
    and another worker would send those messages as well.
    """
    result = DrainResult()
    lease = timedelta(seconds=config["MAIL_LEASE_SECONDS"])
    try:
        while limit is None or result.handled < limit:
            row = claim(db, clock(), lease)
            if row is None:
                break
            try:
                values = render.rendered(db, row)  # reads only: no write lock held meanwhile
                attached = attachments(db, row)
                sender, reply_to = sender_for(db, row, config["MAIL_SENDER"])
            except render.NothingToSend:
                db.rollback()
                begin_write(db)
                db.delete(row)  # send nothing, keep no trace of the typed address
                db.commit()
                result.dropped += 1
                continue
            except SQLAlchemyError:
                db.rollback()  # the database, not the message: its lease ends, then a retry
                result.retried += 1
                continue
            except Exception as exc:  # one message that cannot be written must not stop all
                db.rollback()
                begin_write(db)
                _fail(row, f"could not render: {type(exc).__name__}: {exc}")
                db.commit()
                result.failed += 1
                continue
            if values:
                begin_write(db)
                for name, value in values.items():
                    setattr(row, name, value)
                db.commit()
            message = build_message(row, sender, attached, reply_to=reply_to)
            recipient = row.to_address  # read now: the commit expires the row
            db.commit()  # hold no transaction while talking to the mail server
            outcome: Exception | None = None
            try:
                backend.send(message, _address(config), recipient)
            except (TemporaryFailure, PermanentFailure) as exc:
                outcome = exc
            try:
                begin_write(db)
                _record(row, outcome, config, clock, result)
                _forget_if_anonymised(db, row)
                db.commit()
            except (ObjectDeletedError, StaleDataError):
                # Deleted meanwhile (its registrant's data was deleted while it was being
                # sent): there is nothing left to record, and the next message must go on.
                db.rollback()
    finally:
        backend.close()
    return result


def _record(
    row: OutboxMessage,
    outcome: Exception | None,
    config: dict[str, Any],
    clock: Callable[[], datetime],
    result: DrainResult,
) -> None:
    """Write what sending ``row`` came to: sent, a retry with back-off, or failed."""
    if outcome is None:
        row.status = OutboxStatus.SENT
        row.sent_at = clock()
        row.last_error = ""
        result.sent += 1
    elif isinstance(outcome, TemporaryFailure):
        if isinstance(outcome, MaybeSent):
            row.maybe_sent += 1
            log.warning("outbox message %d may have been delivered: %s", row.id, outcome)
        if row.attempts >= config["MAIL_MAX_ATTEMPTS"]:
            _fail(row, str(outcome))
            result.failed += 1
        else:
            delay = min(
                config["MAIL_RETRY_SECONDS"] * 2 ** (row.attempts - 1),
                config["MAIL_RETRY_MAX_SECONDS"],
            )
            row.next_attempt_at = clock() + timedelta(seconds=delay)
            row.last_error = str(outcome)
            result.retried += 1
    else:
        _fail(row, str(outcome))
        result.failed += 1


def _forget_if_anonymised(db: DbSession, row: OutboxMessage) -> None:
    """The last mails to someone whose data was deleted keep their address only until they
    are sent (or have failed): then they are blanked like the rest (services.privacy)."""
    if row.status is OutboxStatus.QUEUED or row.registration_id is None:
        return
    registration = db.get(Registration, row.registration_id)
    if registration is not None and registration.anonymised_at is not None:
        outbox.forget(row)


def _fail(row: OutboxMessage, error: str) -> None:
    row.status = OutboxStatus.FAILED
    row.last_error = error


def _address(config: dict[str, Any]) -> str:
    """The envelope sender: the address inside MAIL_SENDER."""
    return parseaddr(config["MAIL_SENDER"])[1]
