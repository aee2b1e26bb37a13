"""A slow SMTP server killed and restarted twice while the worker delivers the outbox.

The server (tests/faults/slow_smtp.py, its own process) replies after 0.5 s and says when it
got a MAIL FROM and when it has stored a message; the test SIGKILLs it at those moments:

1. after it stored a message, before its reply: the worker cannot know the message arrived,
   sends it again and records the attempt as ``maybe_sent``: that message arrives twice;
2. after a MAIL FROM, before its reply: nothing was sent, a plain retry: no duplicate.

Every message arrives; each duplicate is explained by a ``maybe_sent`` record, and the
dashboard shows it. The outbox is on the suite's database; the clock is the suite's frozen
one, which the worker moves on (while the server runs) when nothing is due, so that retries
come due at once.
"""

from __future__ import annotations

import email
import queue
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from symposium.config import ROOT
from symposium.extensions import db as _db
from symposium.models import Event, OutboxMessage, OutboxStatus
from symposium.services.backoffice import dashboard
from symposium.services.mail import delivery
from symposium.services.registration import lifecycle, validation
from tests.conftest import registration_data
from tests.faults import harness

pytestmark = pytest.mark.slow

MESSAGES = 5
SECONDS = 60  # for everything: a worker that stops sending fails the test, never hangs it


class SlowSmtp:
    """The server process on a fixed port, restarted on the same port after each kill."""

    def __init__(self, port: int, maildir: Path):
        self.port, self.maildir = port, maildir
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()

    def start(self) -> None:
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.slow_smtp", str(self.port), str(self.maildir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()
        assert self.next_line() == "READY"

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.strip())

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=SECONDS)
        except queue.Empty:
            raise AssertionError(f"the SMTP server said nothing for {SECONDS} s") from None

    def wait_for(self, word: str, nth: int = 1) -> str:
        """Block until the server's ``nth`` line starting with ``word``; return it."""
        while True:
            line = self.next_line()
            if line.split()[0] == word:
                nth -= 1
                if nth == 0:
                    return line

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def received(self) -> Counter[str]:
        return Counter(
            email.message_from_bytes(path.read_bytes())["Message-ID"]
            for path in self.maildir.glob("*.eml")
        )


def test_every_mail_arrives_and_each_duplicate_is_on_record(
    app, db, small_event, clock, tmp_path: Path
) -> None:
    event = db.session.get(Event, small_event["event"])
    for n in range(MESSAGES):
        data = validation.RegistrationInput(**registration_data(n))
        lifecycle.register(db.session, event, data, clock.now, "test")
        db.session.commit()
    maildir = tmp_path / "received"
    maildir.mkdir()
    server = SlowSmtp(harness.common.free_port(), maildir)
    config = {
        **app.config,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": server.port,
    }
    done = threading.Event()
    up = threading.Event()  # the server runs: a retry now is worth it
    errors: list[BaseException] = []

    def worker() -> None:
        """The delivery worker, as `flask send-mail` runs it: drain, poll, drain again."""
        try:
            with app.app_context():
                backend = delivery.SmtpBackend(config)
                while not done.is_set():
                    result = delivery.drain(_db.session, backend, config, clock)
                    unsent = select(func.count()).where(OutboxMessage.status != OutboxStatus.SENT)
                    if _db.session.scalar(unsent) == 0:
                        break
                    _db.session.rollback()
                    if up.is_set() and not (result.sent or result.retried or result.failed):
                        clock.now += timedelta(hours=1)  # nothing due: let the retries come due
                    done.wait(0.05)
                _db.session.remove()
        except BaseException as exc:  # shown by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=worker)
    try:
        server.start()
        up.set()
        thread.start()
        # 1. The second message is stored, its reply pending: kill.
        server.wait_for("DATA", 2)
        up.clear()
        server.kill()
        server.start()
        up.set()
        # 2. A MAIL FROM after the restart, its reply pending: kill.
        server.wait_for("MAIL", 2)
        up.clear()
        server.kill()
        server.start()
        up.set()
        thread.join(SECONDS)
        assert not thread.is_alive(), "the worker did not finish"
    finally:
        done.set()
        thread.join(10)
        server.stop()
    assert not errors, errors

    db.session.rollback()
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * MESSAGES
    received = server.received()
    assert set(received) == {r.message_id for r in rows}, "every mail arrives"
    # A duplicate only where the worker could not know, and each one on record.
    assert {r.message_id: received[r.message_id] - 1 for r in rows} == {
        r.message_id: r.maybe_sent for r in rows
    }
    assert sum(r.maybe_sent for r in rows) == 1  # the first kill; the second cut no message
    board = dashboard.event_dashboard(db.session, event, clock.now)
    assert board.maybe_twice == 1
