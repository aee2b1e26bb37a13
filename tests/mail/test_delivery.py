"""Mail delivery against a real SMTP server (aiosmtpd) running in the test process."""

import email
import socket
import threading
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from symposium.models import Event, OutboxMessage, OutboxStatus, Role
from symposium.services.accounts import access
from symposium.services.backoffice import dashboard
from symposium.services.mail import delivery
from symposium.services.registration import lifecycle, validation
from tests.conftest import FrozenClock, registration_data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An SMTP peer: records what it accepts; can answer 4xx/5xx to the first messages."""

    def __init__(self, replies: list[str] | None = None):
        self.replies = list(replies or [])
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            self.received.append(envelope.original_content)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    """Start (and stop) an aiosmtpd server: ``smtp(replies)`` -> (recorder, controller)."""
    controllers = []

    def start(replies=None, port=None):  # type: ignore[no-untyped-def]
        recorder = Recorder(replies)
        controller = Controller(recorder, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        controllers.append(controller)
        return recorder, controller

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def queue(db, small_event, clock):  # type: ignore[no-untyped-def]
    """Register ``n`` people, which queues one confirmation mail each."""

    def queue(n: int = 1) -> list[OutboxMessage]:
        event = db.session.get(Event, small_event["event"])
        for i in range(n):
            data = validation.RegistrationInput(**registration_data(i))
            lifecycle.register(db.session, event, data, clock.now, "test")
            db.session.commit()
        return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    return queue


def smtp_config(app, port: int) -> dict:  # type: ignore[no-untyped-def]
    return {**app.config, "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port}


def drain(app, db, config, clock):  # type: ignore[no-untyped-def]
    backend = delivery.backend_for(config, app.instance_path)
    return delivery.drain(db.session, backend, config, clock)


def test_delivers_multipart_mail_with_stable_message_id(app, db, queue, smtp, clock) -> None:
    (row,) = queue(1)
    recorder, controller = smtp()
    result = drain(app, db, smtp_config(app, controller.port), clock)
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    (raw,) = recorder.received
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Message-ID"] == row.message_id
    assert message["To"] == "deelnemer0@example.org"
    assert message["Subject"] == "Uw inschrijving voor Klein symposium"
    # The confirmation carries the invitation (the plenary opening even without a place).
    assert message.get_content_type() == "multipart/mixed"
    alternative, _invite = message.get_payload()
    plain, related, _calendar = alternative.get_payload()
    # The confirmation's HTML comes with the ticket's QR image (tests/checkin/).
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html = message.get_body(("html",))
    link = next(line for line in plain.get_content().splitlines() if "/r/" in line)
    assert f'href="{link.strip()}"' in html.get_content()
    db.session.refresh(row)
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 1, clock.now)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_server_down_then_back_loses_nothing_and_sends_once(app, db, queue, smtp, clock):
    (row,) = queue(1)
    port = free_port()  # nothing listens here yet
    config = smtp_config(app, port)
    result = drain(app, db, config, clock)
    assert (result.sent, result.retried) == (0, 1)
    db.session.refresh(row)
    assert row.status is OutboxStatus.QUEUED and "ConnectionRefused" in row.last_error
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)
    # Not due yet: nothing is tried.
    assert drain(app, db, config, clock).retried == 0

    recorder, _ = smtp(port=port)
    clock.now += timedelta(seconds=61)
    assert drain(app, db, config, clock).sent == 1
    assert drain(app, db, config, FrozenClock(clock.now + timedelta(hours=1))).sent == 0
    assert len(recorder.received) == 1
    db.session.refresh(row)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")


def test_451_is_retried_with_back_off_then_250(app, db, queue, smtp, clock) -> None:
    (row,) = queue(1)
    recorder, controller = smtp(replies=["451 4.3.0 Try again later", "451 4.3.0 Still busy"])
    config = smtp_config(app, controller.port)
    assert drain(app, db, config, clock).retried == 1
    db.session.refresh(row)
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)
    assert "451" in row.last_error
    clock.now = row.next_attempt_at
    assert drain(app, db, config, clock).retried == 1
    db.session.refresh(row)
    assert row.next_attempt_at == clock.now + timedelta(seconds=120)  # doubled
    clock.now = row.next_attempt_at
    assert drain(app, db, config, clock).sent == 1
    assert len(recorder.received) == 1


def test_permanent_refusal_and_too_many_attempts_mark_failed(app, db, queue, smtp, clock):
    first, second = queue(2)
    _, controller = smtp(replies=["550 5.1.1 No such user"])
    config = smtp_config(app, controller.port)
    drain(app, db, config, clock)
    db.session.refresh(first)
    assert first.status is OutboxStatus.FAILED and "550" in first.last_error

    down = {**smtp_config(app, free_port()), "MAIL_MAX_ATTEMPTS": 2}
    db.session.refresh(second)
    if second.status is OutboxStatus.SENT:  # the live server took it; queue another
        second = queue(3)[-1]
    for _ in range(2):
        drain(app, db, down, clock)
        clock.now += timedelta(hours=1)
    db.session.refresh(second)
    assert second.status is OutboxStatus.FAILED and second.attempts == 2


def test_two_workers_racing_send_every_message_once(app, db, queue, smtp, clock) -> None:
    rows = queue(30)
    recorder, controller = smtp()
    config = smtp_config(app, controller.port)
    barrier = threading.Barrier(2)
    results = []

    def worker() -> None:
        with app.app_context():
            from symposium.extensions import db as worker_db

            barrier.wait()
            results.append(drain(app, worker_db, config, clock))
            worker_db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [email.message_from_bytes(raw)["Message-ID"] for raw in recorder.received]
    assert sorted(ids) == sorted(r.message_id for r in rows)
    assert sum(r.sent for r in results) == 30
    db.session.rollback()  # end the test's own read transaction: see what the workers wrote
    sent = select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
    assert db.session.scalar(sent) == 30


class SlowBackend:
    """Records what it sends; each send takes ``seconds`` on the shared fake clock.

    ``during_send`` runs inside one send, at the moment the drain has run longer than the
    lease: where a second worker polls.
    """

    def __init__(self, clock: FrozenClock, seconds: int, when, during_send):  # type: ignore[no-untyped-def]
        self.clock, self.seconds = clock, seconds
        self.when, self.during_send = when, during_send
        self.sent: list[str] = []

    def send(self, message, sender: str, recipient: str) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(message["Message-ID"])
        if self.during_send is not None and self.when():
            during, self.during_send = self.during_send, None
            during()
        self.clock.now += timedelta(seconds=self.seconds)

    def close(self) -> None:
        pass


def test_a_drain_longer_than_the_lease_sends_nothing_twice(app, db, queue, clock) -> None:
    """Every claim gets a lease from the time it is made, not from the start of the drain.

    The first worker takes 120 s a message with a 300 s lease; at its third message it has
    run 240 s, at the fourth 360 s. A second worker polls then: it must find only what
    nobody holds, never the message the first worker is sending right now.
    """
    rows = queue(5)
    config = {**app.config, "MAIL_LEASE_SECONDS": 300}
    start = clock.now
    second = SlowBackend(clock, 0, lambda: False, None)

    def second_worker() -> None:
        with app.app_context():  # its own database session, as another process would have
            from symposium.extensions import db as worker_db

            delivery.drain(worker_db.session, second, config, clock)
            worker_db.session.remove()

    first = SlowBackend(
        clock, 120, lambda: clock.now - start > timedelta(seconds=300), second_worker
    )
    delivery.drain(db.session, first, config, clock)

    assert first.during_send is None, "the second worker never polled"
    assert second.sent, "the second worker found nothing to send"
    sent = first.sent + second.sent
    assert sorted(sent) == sorted(r.message_id for r in rows), "each message exactly once"
    db.session.rollback()
    sent_at = dict(
        db.session.execute(select(OutboxMessage.message_id, OutboxMessage.sent_at)).all()
    )
    seconds = {sent_at[m] - start for m in first.sent}  # when each send came back
    assert seconds == {timedelta(seconds=120 * n) for n in (1, 2, 3, 4)}
    statuses = db.session.scalars(select(OutboxMessage.status)).all()
    assert statuses == [OutboxStatus.SENT] * 5


class SlowFailure(SlowBackend):
    def send(self, message, sender: str, recipient: str) -> None:  # type: ignore[no-untyped-def]
        super().send(message, sender, recipient)
        raise delivery.TemporaryFailure("451 4.3.0 Try again later")


def test_a_retry_waits_from_when_the_failure_came_back(app, db, queue, clock) -> None:
    (row,) = queue(1)
    start = clock.now
    delivery.drain(db.session, SlowFailure(clock, 120, lambda: False, None), app.config, clock)
    db.session.refresh(row)
    assert row.next_attempt_at == start + timedelta(seconds=120 + 60)


def test_headers_of_the_organiser_and_of_account_mail(app, db, queue, smtp, clock) -> None:
    """Mail about an event: From the organiser's name at our own address (never theirs:
    DMARC), Reply-To the organiser. Account mail: MAIL_SENDER, no Reply-To. Both marked
    as sent by a program, with the Date of the change that caused them."""
    queue(1)
    event = db.session.scalars(select(Event)).one()
    event.organiser_name = 'Zorg "Noord", afdeling Zoë'
    event.organiser_email = "secretariaat@zorg-noord.example"
    access.create_user(db.session, "org@example.org", Role.ADMIN, clock.now)
    access.request_password_link(db.session, "org@example.org", "password_reset", "nl", clock.now)
    db.session.commit()
    recorder, controller = smtp()
    assert drain(app, db, smtp_config(app, controller.port), clock).sent == 2
    about_event, account = (
        email.message_from_bytes(raw, policy=policy.default) for raw in recorder.received
    )
    assert about_event["From"].addresses[0].display_name == 'Zorg "Noord", afdeling Zoë'
    assert about_event["From"].addresses[0].addr_spec == "noreply@symposium.localhost"
    assert about_event["Reply-To"] == "secretariaat@zorg-noord.example"
    assert account["To"] == "org@example.org" and account["Reply-To"] is None
    assert account["From"] == app.config["MAIL_SENDER"]
    for message in (about_event, account):
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Date"].datetime == clock.now
        assert message["Message-ID"].endswith("@symposium.localhost>")
    # Without an organiser's address: no Reply-To, and the event's name as sender.
    event.organiser_name, event.organiser_email = "", ""
    db.session.commit()
    row = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    sender, reply_to = delivery.sender_for(db.session, row, app.config["MAIL_SENDER"])
    assert (sender, reply_to) == ("Klein symposium <noreply@symposium.localhost>", None)


def test_send_mail_command_writes_eml_files(app, db, queue, tmp_path) -> None:
    (row,) = queue(1)
    app.config["MAIL_FILE_DIR"] = str(tmp_path / "mail")
    result = app.test_cli_runner().invoke(args=["send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    (path,) = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Message-ID"] == row.message_id
    assert "Klein symposium" in message.get_body(("plain",)).get_content()


class CuttingServer:
    """A scripted SMTP peer on a socket that hangs up at one chosen moment.

    ``cut="after-message"``: it reads the whole message and its final dot, then closes
    without a reply (the server may have kept it: the worker cannot know). ``cut="at-data"``:
    it closes instead of answering DATA with 354, before any of the message was sent.
    """

    def __init__(self, cut: str):
        self.cut = cut
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 cutting ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb == b"DATA":
                    if self.cut == "at-data":
                        return
                    conn.sendall(b"354 go ahead\r\n")
                    body = b"".join(iter(lines.readline, b".\r\n"))
                    self.messages.append(body)
                    return  # the message is here; the reply never leaves
                conn.sendall(b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


def test_reply_lost_after_the_message_is_retried_and_recorded_as_maybe_sent(
    app, db, queue, smtp, clock, small_event
) -> None:
    (row,) = queue(1)
    server = CuttingServer("after-message")
    result = drain(app, db, smtp_config(app, server.port), clock)
    server.close()
    assert len(server.messages) == 1  # it did get there: a resend is a duplicate
    assert (result.sent, result.retried) == (0, 1)
    db.session.refresh(row)
    assert row.status is OutboxStatus.QUEUED and row.maybe_sent == 1
    assert "may have been delivered" in row.last_error

    recorder, controller = smtp()
    clock.now = row.next_attempt_at
    assert drain(app, db, smtp_config(app, controller.port), clock).sent == 1
    db.session.refresh(row)
    assert (row.status, row.maybe_sent, len(recorder.received)) == (OutboxStatus.SENT, 1, 1)
    event = db.session.get(Event, small_event["event"])
    assert dashboard.event_dashboard(db.session, event, clock.now).maybe_twice == 1
    listing = app.test_cli_runner().invoke(args=["outbox", "--status", "sent"])
    assert "possibly delivered already (1x: reply lost)" in listing.output


def test_connection_lost_before_the_message_is_a_plain_retry(
    app, db, queue, clock, small_event
) -> None:
    (row,) = queue(1)
    server = CuttingServer("at-data")
    result = drain(app, db, smtp_config(app, server.port), clock)
    server.close()
    assert server.messages == [] and result.retried == 1
    db.session.refresh(row)
    assert row.status is OutboxStatus.QUEUED and row.maybe_sent == 0
    event = db.session.get(Event, small_event["event"])
    assert dashboard.event_dashboard(db.session, event, clock.now).maybe_twice == 0
