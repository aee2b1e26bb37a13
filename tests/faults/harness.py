"""What the fault tests share: an HTTP client that reports a cut connection instead of raising,
gunicorn's worker processes, a PostgreSQL cluster of the test's own, and the checks that no
registration was half written.

Every wait here polls with a deadline; nothing sleeps for a fixed time to "let things settle".
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from bench import common
from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    IdempotencyKey,
    OutboxMessage,
    Registration,
    Session,
)

# Long enough for a loaded CI machine, short enough that a hang fails the test rather than CI.
REQUEST_TIMEOUT = 30


@dataclass
class Answer:
    """One HTTP exchange; ``status`` 0 when the connection was refused or cut before a reply."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Send one request on a fresh connection. A time-out raises: the server hung."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=REQUEST_TIMEOUT)
    data = None if body is None else json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        conn.request(method, path, body=data, headers={**sent_headers, **(headers or {})})
        response = conn.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    except TimeoutError:
        raise AssertionError(f"{method} {path}: no answer within {REQUEST_TIMEOUT} s") from None
    except (ConnectionError, http.client.HTTPException) as exc:  # refused, reset, cut
        return Answer(0, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def register(base_url: str, slug: str, body: dict[str, Any], key: str) -> Answer:
    return request(
        base_url,
        "POST",
        f"/api/v1/events/{slug}/registrations",
        body,
        {"Idempotency-Key": key},
    )


def wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:g} s for {what}")
        time.sleep(0.05)


# --------------------------------------------------------------------------- gunicorn


def worker_pids(master_pid: int) -> list[int]:
    """The live worker processes of a gunicorn master (its children)."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def gunicorn(url: str, workers: int, instance_dir: str) -> common.Gunicorn:
    """``gunicorn bench.wsgi:app`` with its production settings (SECRET_KEY, no debug, the
    rate limiter off) on the given database, started by the benchmarks' harness."""
    return common.Gunicorn(url, workers, instance_dir)


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def cluster_unavailable() -> str | None:
    """Why a throw-away cluster cannot be started here, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root (initdb refuses root) and there is no postgres user"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing to run initdb as postgres"
    return None


class Cluster:
    """A PostgreSQL cluster of the test's own: initdb in a temporary folder, a free port.

    As root (CI) the server runs as the ``postgres`` user: initdb refuses to run as root.
    ``fsync=off``: the data is thrown away; a restart still kills every connection.
    """

    def __init__(self) -> None:
        bindir = postgres_bindir()
        assert bindir is not None
        self.bindir = bindir
        self.port = common.free_port()
        self.root = Path(tempfile.mkdtemp(prefix="symposium-fault-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        else:
            self.as_user = []
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def __enter__(self) -> Cluster:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                 "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @contextlib.contextmanager
    def database(self, name: str) -> Iterator[str]:
        with common.fresh_database(name, self.url) as dsn:
            yield dsn


# --------------------------------------------------------------------------- checks


def half_written(db: DbSession, slug: str) -> list[str]:
    """Every way a registration of event ``slug`` is incomplete: each must have its live
    enrolments, its one confirmation mail (and one invitation per place when it has several)
    and (made through the API with a key) its stored answer, all written in one transaction
    or not at all."""
    event_id = db.scalar(select(Event.id).where(Event.slug == slug))
    problems = []
    enrolments = dict(
        db.execute(
            select(Registration.id, func.count(Enrolment.id))
            .outerjoin(Enrolment, Enrolment.registration_id == Registration.id)
            .where(Registration.event_id == event_id)
            .group_by(Registration.id)
        ).all()
    )
    mails: dict[int, list[str]] = {}
    for registration_id, kind in db.execute(
        select(OutboxMessage.registration_id, OutboxMessage.kind).where(
            OutboxMessage.registration_id.in_(list(enrolments))
        )
    ):
        mails.setdefault(registration_id, []).append(kind)
    answered = {
        row["registration"]["id"]
        for row in db.scalars(
            select(IdempotencyKey.response).where(
                IdempotencyKey.scope == f"registrations:{event_id}"
            )
        )
    }
    for registration_id, n in enrolments.items():
        if n == 0:
            problems.append(f"registration {registration_id} has no enrolments")
        # One confirmation, whatever the places: its invitation is one UID for all of them.
        kinds = sorted(mails.get(registration_id, []))
        expected = ["registered"]
        if kinds != expected:
            problems.append(f"registration {registration_id} has mails {kinds}, not {expected}")
        if registration_id not in answered:
            problems.append(f"registration {registration_id} has no stored answer for its key")
    if answered - set(enrolments):
        problems.append(
            f"stored answers for registrations that do not exist: {answered - set(enrolments)}"
        )
    over = db.execute(
        select(Session.key, Session.capacity, func.count(Enrolment.id))
        .join(Enrolment, Enrolment.session_id == Session.id)
        .where(Session.event_id == event_id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .group_by(Session.id)
        .having(func.count(Enrolment.id) > func.coalesce(Session.capacity, 1_000_000))
    ).all()
    problems += [f"session {key}: {n} confirmed, capacity {cap}" for key, cap, n in over]
    return problems


def registration_ids(db: DbSession, slug: str) -> list[int]:
    event_id = db.scalar(select(Event.id).where(Event.slug == slug))
    return list(db.scalars(select(Registration.id).where(Registration.event_id == event_id)))
