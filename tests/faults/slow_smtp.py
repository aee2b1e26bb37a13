"""A slow SMTP server for tests/faults/test_slow_smtp.py, run as its own process so that the
test can SIGKILL it: ``python -m tests.faults.slow_smtp PORT MAILDIR``.

It answers MAIL FROM and the end of each message after ``DELAY`` seconds, and tells the test
on stdout what it is doing, so the test kills it at a moment it knows rather than after a
guessed sleep: ``MAIL`` when a MAIL FROM came in (its reply is pending), ``DATA <Message-ID>``
once a whole message is stored in MAILDIR (its reply is pending: a kill now leaves the client
unable to know whether the message arrived).
"""

from __future__ import annotations

import asyncio
import email
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

DELAY = 0.5


class Slow:
    def __init__(self, maildir: Path):
        self.maildir = maildir

    async def handle_MAIL(  # type: ignore[no-untyped-def]
        self, server, session, envelope, address: str, mail_options: list[str]
    ) -> str:
        print("MAIL", flush=True)
        await asyncio.sleep(DELAY)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content
        message_id = email.message_from_bytes(raw)["Message-ID"]
        (self.maildir / f"{uuid.uuid4().hex}.eml").write_bytes(raw)
        print("DATA", message_id, flush=True)
        await asyncio.sleep(DELAY)
        return "250 Message accepted for delivery"


def main(port: int, maildir: Path) -> None:
    controller = Controller(Slow(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    signal.pause()  # until killed: SIGTERM when the test is done, SIGKILL as the fault


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
