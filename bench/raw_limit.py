"""The ceiling: the registration transaction sent straight to PostgreSQL, no HTTP and no Flask.

Each registration is one READ COMMITTED transaction that does what
``symposium.services.registration.lifecycle.register`` does under the locks of
``symposium.services.core.locking``: lock the event row (only when the event has a total
capacity) and the chosen session rows ``FOR UPDATE`` in id order, look for an earlier
registration of the address, count confirmed places per session and per profession, read the
quotas and the waiting-list tails, then insert the registration, its enrolments (confirmed or
at the end of the waiting list), their enrolment_changes rows and one outbox row. Every row
has the columns and value sizes of the rows the app itself wrote for a sample registration
(rendered mail included; rolled back), so the raw transaction keeps up with the schema.

It runs the same people (``bench.workload``) from ``--concurrency`` threads, each with its own
connection (from psycopg_pool when it is installed), on a fresh database. ``measure`` and
``run_standalone`` are what ``flash_crowd.py`` calls for its ratio.

    python -m bench.raw_limit [--registrations 2000] [--concurrency 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import hashlib
import resource
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, workload
from bench.workload import Person, Shape
from symposium.services.checkin import tickets

# Columns each row gets its own value for; every other column is copied from the rows the app
# wrote for a sample registration (fresh random values for single-column unique ones).
OWN = {
    "registrations": {
        "event_id", "email", "name", "profession_id", "language", "identifiers", "status",
        "token_nonce", "token_hash", "submission_key", "created_at", "consent_at",
        "cancelled_at", "checkin_code",
    },
    "enrolments": {
        "registration_id", "session_id", "profession_id", "status", "waitlist_position",
        "replaces_id", "created_at", "changed_at",
    },
    "enrolment_changes": {"enrolment_id", "at", "from_status", "to_status", "reason"},
    "outbox": {"created_at", "registration_id", "to_address", "message_id", "next_attempt_at"},
}  # fmt: skip


class Refused(Exception):
    """A rule refused the registration (event full); the transaction is rolled back."""


@dataclass
class Table:
    """How to insert rows into one table: the columns, the copied values, the unique ones."""

    name: str
    columns: list[str]
    template: dict[str, Any]
    fresh: dict[str, int]  # unique text column -> length of a fresh random hex value

    def row(self, own: dict[str, Any]) -> list[Any]:
        values = {**self.template, **own}
        for column, length in self.fresh.items():
            if column not in own:
                values[column] = secrets.token_hex(length // 2 + 1)[:length]
        return [values[c] for c in self.columns]

    def sql(self, rows: int, returning: str = "") -> str:
        one = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        cols = ", ".join(self.columns)
        return f"INSERT INTO {self.name} ({cols}) VALUES {', '.join([one] * rows)}{returning}"


@dataclass
class Target:
    """The ids of one loaded event, and how the app's rows for it look."""

    event_id: int
    event_capacity: int | None
    session_ids: dict[str, int]
    profession_ids: dict[str, int]
    tables: dict[str, Table]


def load_target(dsn: str, slug: str, instance_dir: str) -> Target:
    import psycopg

    with psycopg.connect(dsn) as conn:
        event_id, capacity = conn.execute(
            "SELECT id, capacity FROM events WHERE slug = %s", (slug,)
        ).fetchone()
        sessions = dict(
            conn.execute("SELECT key, id FROM sessions WHERE event_id = %s", (event_id,))
        )
        professions = dict(conn.execute("SELECT code, id FROM professions"))
    tables = sample_rows(dsn, slug, instance_dir)
    return Target(event_id, capacity, sessions, professions, tables)


def sample_rows(dsn: str, slug: str, instance_dir: str) -> dict[str, Table]:
    """Let the app register one person, read back what it wrote, then roll it back.

    So the raw transaction writes the same columns with values of the same size (the outbox
    row carries the app's rendered text, HTML and calendar), whatever the schema grows.
    """
    from psycopg.types.json import Json
    from sqlalchemy import UniqueConstraint, select

    from symposium import clock, create_app
    from symposium.extensions import db
    from symposium.models import Enrolment, EnrolmentChange, Event, OutboxMessage, Registration
    from symposium.services.registration import lifecycle, validation

    app = create_app(common.app_config(dsn), instance_path=instance_dir)
    person = workload.people(1, 0, Shape())[0]
    tables = {}
    with app.test_request_context(base_url="http://127.0.0.1"):
        event = db.session.scalars(select(Event).where(Event.slug == slug)).one()
        ids = {s.key: s.id for s in event.sessions}
        data = validation.RegistrationInput(
            name=person.name,
            email="sample@example.org",
            profession=person.profession,
            consent=True,
            language=person.language,
            identifiers=person.identifiers,
            sessions=[ids[k] for k in person.picks if k in ids],
        )
        lifecycle.register(db.session, event, data, clock.now(), common.SECRET_KEY)
        db.session.flush()
        for model in (Registration, Enrolment, EnrolmentChange, OutboxMessage):
            table = model.__table__
            obj = db.session.scalars(select(model)).first()
            assert obj is not None, f"the app wrote no {table.name} row for a registration"
            unique = {c.name for c in table.columns if c.unique}
            for constraint in table.constraints:
                if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
                    unique |= {c.name for c in constraint.columns}
            for index in table.indexes:
                if index.unique and len(index.columns) == 1:
                    unique |= {c.name for c in index.columns}
            columns = [c.name for c in table.columns if not c.primary_key]
            template: dict[str, Any] = {}
            fresh = {}
            for column in table.columns:
                if column.primary_key:
                    continue
                value = getattr(obj, column.key)
                if isinstance(value, enum.Enum):
                    value = value.value
                elif isinstance(value, dict | list):
                    value = Json(value)
                template[column.name] = value
                if column.name in unique and column.name not in OWN[table.name]:
                    fresh[column.name] = len(value) if isinstance(value, str) else 32
            tables[table.name] = Table(table.name, columns, template, fresh)
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return tables


# --------------------------------------------------------------------------- the transaction


def _token(secret: str, nonce: str) -> tuple[str, str]:
    """Mirror of services.core.tokens: (token, its SHA-256)."""
    import base64
    import hmac

    digest = hmac.new(secret.encode(), f"manage:{nonce}".encode(), hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return token, hashlib.sha256(token.encode()).hexdigest()


def register(conn: Any, target: Target, person: Person) -> list[str]:
    """One registration in one transaction; returns the enrolment statuses (or a refusal)."""
    from psycopg.types.json import Json

    now = datetime.now(UTC)
    chosen = list(dict.fromkeys(target.session_ids[k] for k in person.picks))
    profession_id = target.profession_ids[person.profession]
    tables = target.tables
    with conn.transaction(), conn.cursor() as cur:
        # services.core.locking.lock_capacity: event row only with a total capacity, then sessions.
        if target.event_capacity is not None:
            cur.execute("SELECT id FROM events WHERE id = %s FOR UPDATE", (target.event_id,))
        capacities = dict(
            cur.execute(
                "SELECT id, capacity FROM sessions WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted(chosen),),
            ).fetchall()
        )
        existing = cur.execute(
            "SELECT id, status FROM registrations WHERE event_id = %s AND email = %s",
            (target.event_id, person.email),
        ).fetchone()
        if existing is not None:
            return ["already_registered"]
        if target.event_capacity is not None:
            (taken,) = cur.execute(
                "SELECT count(*) FROM registrations WHERE event_id = %s AND status = 'active'",
                (target.event_id,),
            ).fetchone()
            if taken >= target.event_capacity:
                raise Refused("event_full")
        # enrolment._counts: three queries.
        confirmed: Counter[int] = Counter()
        by_profession: Counter[tuple[int, int]] = Counter()
        for session_id, prof_id, _status, n in cur.execute(
            "SELECT session_id, profession_id, status, count(*) FROM enrolments"
            " WHERE session_id = ANY(%s) AND status = 'confirmed'"
            " GROUP BY session_id, profession_id, status",
            (chosen,),
        ):
            confirmed[session_id] += n
            by_profession[(session_id, prof_id)] = n
        last_position = dict(
            cur.execute(
                "SELECT session_id, max(waitlist_position) FROM enrolments"
                " WHERE session_id = ANY(%s) AND status = 'waitlisted' GROUP BY session_id",
                (chosen,),
            ).fetchall()
        )
        quotas = {
            (s, p): places
            for s, p, places in cur.execute(
                "SELECT session_id, profession_id, places FROM session_quotas"
                " WHERE session_id = ANY(%s)",
                (chosen,),
            )
        }
        nonce = secrets.token_hex(16)
        registration = tables["registrations"]
        (registration_id,) = cur.execute(
            registration.sql(1, " RETURNING id"),
            registration.row(
                {
                    "event_id": target.event_id,
                    "email": person.email,
                    "name": person.name,
                    "profession_id": profession_id,
                    "language": person.language,
                    "identifiers": Json(person.identifiers),
                    "status": "active",
                    "token_nonce": nonce,
                    "token_hash": _token(common.SECRET_KEY, nonce)[1],
                    "submission_key": None,
                    "checkin_code": tickets.new_code(),
                    "created_at": now,
                    "consent_at": now,
                    "cancelled_at": None,
                }
            ),
        ).fetchone()
        rows, statuses = [], []
        for session_id in chosen:  # enrolment._enrol with has_place
            capacity, key = capacities[session_id], (session_id, profession_id)
            quota = quotas.get(key)
            if (capacity is None or confirmed[session_id] < capacity) and (
                quota is None or by_profession[key] < quota
            ):
                status, position = "confirmed", None
                confirmed[session_id] += 1
                by_profession[key] += 1
            else:
                status = "waitlisted"
                position = last_position[session_id] = (last_position.get(session_id) or 0) + 1
            own = {
                "registration_id": registration_id,
                "session_id": session_id,
                "profession_id": profession_id,
                "status": status,
                "waitlist_position": position,
                "replaces_id": None,
                "created_at": now,
                "changed_at": now,
            }
            rows.append(tables["enrolments"].row(own))
            statuses.append(status)
        enrolment_ids = cur.execute(
            tables["enrolments"].sql(len(rows), " RETURNING id, session_id"),
            [v for row in rows for v in row],
        ).fetchall()
        status_of = dict(zip(chosen, statuses, strict=True))
        changes = tables["enrolment_changes"]
        cur.execute(
            changes.sql(len(enrolment_ids)),
            [
                v
                for eid, sid in enrolment_ids
                for v in changes.row(
                    {
                        "enrolment_id": eid,
                        "at": now,
                        "from_status": None,
                        "to_status": status_of[sid],
                        "reason": "registered",
                    }
                )
            ],
        )
        outbox = tables["outbox"]
        cur.execute(
            outbox.sql(1),
            outbox.row(
                {
                    "created_at": now,
                    "registration_id": registration_id,
                    "to_address": person.email,
                    "message_id": make_msgid(domain="symposium.localhost"),
                    "next_attempt_at": now,
                }
            ),
        )
    return statuses


@contextlib.contextmanager
def _connections(dsn: str, n: int) -> Iterator[Any]:
    """Yield a function giving a connection context: psycopg_pool, else one per thread."""
    import psycopg

    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        ConnectionPool = None

    if ConnectionPool is not None:
        with ConnectionPool(
            dsn, min_size=n, max_size=n, kwargs={"autocommit": True}, open=True
        ) as pool:
            pool.wait(timeout=30)
            yield pool.connection, "psycopg_pool"
    else:

        @contextlib.contextmanager
        def own() -> Iterator[Any]:
            with psycopg.connect(dsn, autocommit=True) as conn:
                yield conn

        yield own, "one connection per thread"


def measure(
    dsn: str,
    persons: list[Person],
    concurrency: int,
    instance_dir: str,
    slug: str = workload.SLUG,
    max_seconds: float = 600,
    wait_quiet: float = 0,
) -> dict[str, Any]:
    """Run every person's registration from ``concurrency`` threads; figures as a dict."""
    import psycopg

    target = load_target(dsn, slug, instance_dir)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(persons)))
    deadline = time.monotonic() + max_seconds

    with _connections(dsn, concurrency) as (connection, how):

        def worker() -> None:
            with connection() as conn:
                while time.monotonic() < deadline:
                    with lock:
                        i = next(cursor, None)
                    if i is None:
                        return
                    start = time.perf_counter()
                    try:
                        statuses = register(conn, target, persons[i])
                    except Refused as exc:
                        statuses = [str(exc)]
                    except psycopg.Error as exc:
                        statuses = []
                        with lock:
                            errors[type(exc).__name__] += 1
                    took = (time.perf_counter() - start) * 1000
                    with lock:
                        latencies.append(took)
                        outcomes.update(statuses)

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        busy_before = common.wait_until_quiet(wait_quiet)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        with common.CpuMeter(None) as meter:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    done = len(latencies) - sum(errors.values())
    return {
        "concurrency": concurrency,
        "connections": how,
        "registrations": done,
        "seconds": round(meter.wall, 3),
        "registrations_per_s": round(done / meter.wall, 1) if meter.wall else 0.0,
        "latency_ms": common.latency_summary(latencies),
        "errors": dict(errors),
        "enrolments": dict(outcomes),
        "cores_used": meter.cores_used({"raw_client": client_cpu}),
        "machine_busy_before": busy_before,
        # FOR UPDATE, earlier registration, 3 counts, 4 inserts (+ event lock and count).
        "statements_per_registration": 9 + (2 if target.event_capacity is not None else 0),
    }


def run_standalone(
    persons: list[Person],
    shape: Shape,
    concurrency: int,
    admin_url: str = common.PG_URL,
    max_seconds: float = 600,
    wait_quiet: float = 0,
) -> dict[str, Any]:
    """Fresh database with the workload's event, measure, check the invariants, drop it."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-raw-") as tmp,
        common.fresh_database("raw", admin_url) as dsn,
    ):
        event_file = Path(tmp, "event.toml")
        event_file.write_text(workload.event_toml(shape))
        common.prepare_database(dsn, [event_file], tmp)
        result = measure(
            dsn, persons, concurrency, tmp, max_seconds=max_seconds, wait_quiet=wait_quiet
        )
        counts, violations = workload.check(dsn)
    result["database"] = counts
    result["violations"] = violations
    return result


def table_rows(result: dict[str, Any]) -> list[tuple[str, object, str]]:
    lat = result["latency_ms"]
    cores = result["cores_used"]
    return [
        ("registrations/s", result["registrations_per_s"], "the ceiling for this schema"),
        ("registrations", result["registrations"], f"in {result['seconds']:.1f} s"),
        ("concurrent connections", result["concurrency"], result["connections"]),
        ("latency p50 / p95 / p99 (ms)", f"{lat['p50']} / {lat['p95']} / {lat['p99']}", ""),
        ("errors", sum(result["errors"].values()), str(result["errors"] or "")),
        (
            "enrolments confirmed / waitlisted",
            f"{result['enrolments'].get('confirmed', 0)} / "
            f"{result['enrolments'].get('waitlisted', 0)}",
            "",
        ),
        (
            "cores used: postgres / client",
            f"{cores['postgres']} / {cores['raw_client']}",
            f"machine busy {cores['machine_busy_share']:.0%}, other {cores['other']} cores",
        ),
        ("violations", len(result.get("violations", [])), "overbooking or waiting-list gaps"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2 * common.cores(),
        help="concurrent connections; the same as flash_crowd's gunicorn workers "
        "(default 2 x cores = %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-seconds", type=float, default=600)
    common.common_arguments(parser)
    args = parser.parse_args(argv)
    shape = Shape()
    persons = workload.people(args.registrations, args.seed, shape)
    result = run_standalone(
        persons, shape, args.concurrency, args.pg_url, args.max_seconds, args.wait_quiet
    )
    common.print_table(
        f"raw_limit: {args.registrations} registrations straight to PostgreSQL "
        f"({common.cores()} cores, {common.memory()})",
        table_rows(result),
    )
    for violation in result["violations"]:
        print(f"VIOLATION: {violation}")
    common.write_json(args.json, {"benchmark": "raw_limit", "machine": common.machine(), **result})
    return 1 if result["violations"] or result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
