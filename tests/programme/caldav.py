"""A real CalDAV server (Radicale) for the suite: does a server accept our calendars?

libical checks syntax and RFC 5546's tables; it does not know RFC 4791's rules for calendar
objects (one UID per object, no METHOD), which are what made Radicale, Nextcloud and Cyrus
refuse our old multi-UID invitations. :class:`Radicale` runs the server in a thread on a
free port (storage in a temporary folder, no authentication) and :meth:`Radicale.store`
PUTs a calendar the way a client files it: an iTIP message (REQUEST, CANCEL) as one object
with its METHOD taken out, a feed (PUBLISH, many UIDs, not iTIP) as one object per UID.
tests/conftest.py stores every calendar the code writes during the run.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import radicale
from icalendar import Calendar
from radicale import config

USER = "test"
COLLECTION = f"/{USER}/calendar/"
AUTH = "Basic dGVzdDp0ZXN0"  # test:test (auth type none takes any password)


class _Reasons(logging.Handler):
    """Radicale answers a bare "400 Bad Request"; the reason is only in its log."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Radicale:
    """Radicale on 127.0.0.1, started on first use, with one calendar collection."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.server: WSGIServer | None = None
        self.lock = threading.Lock()
        self.reasons = _Reasons()
        self.checked: set[bytes] = set()  # digests of calendars already stored and checked

    def _start(self) -> WSGIServer:
        logger = logging.getLogger("radicale")
        logger.addHandler(self.reasons)
        logger.propagate = False
        configuration = config.load()
        configuration.update(
            {
                "auth": {"type": "none"},
                "rights": {"type": "authenticated"},
                "storage": {"filesystem_folder": str(self.folder), "_filesystem_fsync": "False"},
                "web": {"type": "none"},
                "logging": {"level": "warning"},
            },
            "test",
            privileged=True,  # _filesystem_fsync: a throw-away store needs no fsync
        )
        server = make_server(
            "127.0.0.1", 0, radicale.Application(configuration), handler_class=_QuietHandler
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        status, body = self.request("MKCALENDAR", COLLECTION)
        if status != 201:
            raise RuntimeError(f"Radicale: MKCALENDAR {status} {body}")
        return server

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, str]:
        assert self.server is not None
        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=10)
        headers = {"Authorization": AUTH, "Content-Type": "text/calendar; charset=utf-8"}
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def store(self, ical: bytes) -> list[str]:
        """PUT ``ical`` as its calendar object(s); the refusals, empty when all were stored."""
        with self.lock:
            if self.server is None:
                self._start()
            problems = []
            for uid, body in objects(ical):
                href = f"{COLLECTION}{hashlib.sha256(uid.encode()).hexdigest()[:32]}.ics"
                self.reasons.messages.clear()
                status, answer = self.request("PUT", href, body)
                if status not in (201, 204):
                    reasons = "; ".join(self.reasons.messages) or answer
                    problems.append(f"Radicale refused {uid or 'an object'}: {status} {reasons}")
            return problems

    def get(self, uid: str) -> tuple[int, str]:
        with self.lock:
            href = f"{COLLECTION}{hashlib.sha256(uid.encode()).hexdigest()[:32]}.ics"
            return self.request("GET", href)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            logging.getLogger("radicale").removeHandler(self.reasons)


def objects(ical: bytes) -> list[tuple[str, bytes]]:
    """(first UID, body) of each calendar object ``ical`` is filed as, METHOD removed.

    An iTIP message is filed whole, so that several UIDs in one (what RFC 4791 forbids) reach
    the server and are refused there; a PUBLISH feed is split by UID, as a subscribing client
    does, each object with the feed's VTIMEZONEs.
    """
    cal = Calendar.from_ical(ical)
    method = str(cal.pop("METHOD", "")).upper()
    vevents = cal.walk("VEVENT")
    if method in ("REQUEST", "CANCEL", "REPLY") or not vevents:
        first = str(vevents[0].get("UID", "")) if vevents else ""
        return [(first, cal.to_ical())]
    found: dict[str, Calendar] = {}
    others = [c for c in cal.subcomponents if c.name != "VEVENT"]
    for vevent in vevents:
        uid = str(vevent.get("UID", ""))
        if uid not in found:
            part = Calendar()
            for name, value in cal.items():
                part[name] = value
            for component in others:
                part.add_component(component)
            found[uid] = part
        found[uid].add_component(vevent)
    return [(uid, part.to_ical()) for uid, part in found.items()]
