"""Documents: how long the back office takes to build a full event's attendance list.

A throw-away database (PostgreSQL like the other benchmarks, or a temporary SQLite file with
``--sqlite``) gets the schema (the migrations), the flash-crowd event of ``bench.workload``
(2 rounds of 10 workshops, but each with a fifth of the registrations as places, so a big
event's list is mostly confirmed) and ``--registrations`` registrations with one workshop
per round each (fixed seed; confirmed up to the places and quotas, then waiting lists; every
100th registration cancelled), written with bulk inserts, then ``VACUUM ANALYZE`` (``ANALYZE`` on
SQLite). Timed, ``--repeat`` times, with the service calls the back-office routes make:
``exports.registrations_table`` (the queries and the rows: one per registration), then
``exports.to_xlsx`` (``/admin/events/<slug>/registrations.xlsx``) and ``exports.to_csv``
(``registrations.csv``) on that table; and, for comparison, the per-session list of the
fullest workshop (``session_participants`` + ``participants_table`` + ``to_xlsx``, the
``participants.xlsx`` route). Reported: best and median seconds per step, rows/s, the file
sizes and the SQL statements the table takes. Then accreditation: a closing plenary, GAIA
accrediting all four sessions of each attendee, a day of presence (some late, some leaving
early), and timed: the points of everyone (``points.event_points``, goal under 1 s) and the
register's XLSX presence list (goal under 2 s), each also as a ratio to the registrations
XLSX of the same run. Then certificates: everyone with points is issued one
(``issuing.issue_all``, a mail each), and ``--certificates`` of them (1,000) are built three
ways, in CPU seconds of this process (goal: 1,000 under 20 s on one core): as the
organiser's ZIP does (one document, split), as the mail worker does (one per message, from
batches of those waiting), and one at a time (a sample; the manage page's download).

    python -m bench.documents [--registrations 5000] [--certificates 1000] [--repeat 3]
                              [--sqlite] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, workload
from bench.workload import Shape

SLUG = "bench-documents"
SEED = 42
CANCEL_EVERY = 100  # every 100th registration is cancelled, as real lists have some
XLSX_ROUTE = f"/admin/events/{SLUG}/registrations.xlsx"
KINDS = {
    "certificates": ("certificate",),
    "attendance lists": (
        "attendance",
        "participants/print",
        "participants.csv",
        "registrations.xlsx",
        "registrations.csv",
    ),
}
T = TypeVar("T")


def available() -> dict[str, list[str]]:
    """For each kind of document, the app's routes that produce one (empty: not there yet)."""
    from symposium import create_app

    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://"}, instance_path=tmp)
        rules = [rule.rule for rule in app.url_map.iter_rules()]
    return {kind: [r for r in rules if any(w in r for w in words)] for kind, words in KINDS.items()}


# --------------------------------------------------------------------------- the database


def shape(registrations: int) -> Shape:
    """The flash-crowd programme sized for the crowd: the popular workshops still fill up."""
    return Shape(places=max(Shape().places, registrations // 5))


@contextmanager
def database(args: argparse.Namespace, tmp: str) -> Iterator[str]:
    """A throw-away database with the schema and the event; yields its URL, drops it after."""
    event_file = Path(tmp, "event.toml")
    event_file.write_text(workload.event_toml(shape(args.registrations), slug=SLUG))
    if args.sqlite:
        url = f"sqlite:///{Path(tmp, 'documents.sqlite3')}"
        common.prepare_database(url, [event_file], tmp)
        yield url  # the file goes with the temporary folder
        return
    with common.fresh_database("docs", args.pg_url) as dsn:
        common.prepare_database(dsn, [event_file], tmp)
        yield dsn


def load_registrations(db: Any, count: int, now: datetime) -> dict[str, int]:
    """Insert ``count`` registrations and their enrolments in bulk; returns the counts.

    Each person of ``bench.workload`` picks one workshop per round; places and quotas are
    filled in sign-up order and the rest wait (positions 1..n), as the app would have it.
    Bulk Core inserts, not the enrolment service: the list is timed, not the sign-ups.
    """
    from sqlalchemy import insert, select

    from symposium.models import (
        Enrolment,
        EnrolmentStatus,
        Event,
        Profession,
        Registration,
        RegistrationStatus,
        Session,
        SessionQuota,
    )

    event = db.session.scalars(select(Event).where(Event.slug == SLUG)).one()
    where = Session.event_id == event.id
    sessions = dict(db.session.execute(select(Session.key, Session.id).where(where)).all())
    capacity = dict(db.session.execute(select(Session.id, Session.capacity).where(where)).all())
    quotas = {
        (s, p): places
        for s, p, places in db.session.execute(
            select(SessionQuota.session_id, SessionQuota.profession_id, SessionQuota.places)
        )
    }
    professions = dict(db.session.execute(select(Profession.code, Profession.id)).all())
    persons = workload.people(count, SEED, shape(count))
    opens = now - timedelta(days=1)

    def cancelled(i: int) -> bool:
        return i % CANCEL_EVERY == CANCEL_EVERY - 1

    db.session.execute(
        insert(Registration.__table__),
        [
            {
                "event_id": event.id,
                "email": p.email,
                "name": p.name,
                "profession_id": professions[p.profession],
                "organisation": f"GGZ-instelling {p.n % 97}, afdeling {p.n % 7 + 1}",
                "language": p.language,
                "identifiers": p.identifiers,
                "status": RegistrationStatus.CANCELLED
                if cancelled(i)
                else RegistrationStatus.ACTIVE,
                "token_nonce": f"n{i:031d}",
                "checkin_code": f"{i:013d}",
                "token_hash": f"t{i:063d}",
                "feed_nonce": f"f{i:031d}",
                "feed_token_hash": f"f{i:063d}",
                "created_at": opens + (now - opens) * i / count,
                "consent_at": opens + (now - opens) * i / count,
                "cancelled_at": now if cancelled(i) else None,
            }
            for i, p in enumerate(persons)
        ],
    )
    ids = db.session.scalars(
        select(Registration.id).where(Registration.event_id == event.id).order_by(Registration.id)
    ).all()
    confirmed: Counter[Any] = Counter()
    waiting: Counter[int] = Counter()
    rows = []
    for i, (registration_id, person) in enumerate(zip(ids, persons, strict=True)):
        profession_id = professions[person.profession]
        for key in person.picks:
            session_id = sessions[key]
            quota = quotas.get((session_id, profession_id))
            if cancelled(i):
                status, position = EnrolmentStatus.CANCELLED, None
            elif (
                capacity[session_id] is None or confirmed[session_id] < capacity[session_id]
            ) and (quota is None or confirmed[session_id, profession_id] < quota):
                status, position = EnrolmentStatus.CONFIRMED, None
                confirmed[session_id] += 1
                confirmed[session_id, profession_id] += 1
            else:
                waiting[session_id] += 1
                status, position = EnrolmentStatus.WAITLISTED, waiting[session_id]
            rows.append(
                {
                    "registration_id": registration_id,
                    "session_id": session_id,
                    "profession_id": profession_id,
                    "status": status,
                    "waitlist_position": position,
                    "created_at": now,
                    "changed_at": now,
                }
            )
    db.session.execute(insert(Enrolment.__table__), rows)
    db.session.commit()
    return {
        "registrations": len(ids),
        "cancelled": sum(1 for i in range(len(ids)) if cancelled(i)),
        "enrolments": len(rows),
        "waitlisted": sum(waiting.values()),
    }


def analyze(url: str, db: Any) -> None:
    """Fresh planner statistics after the bulk load (autovacuum may be off)."""
    from sqlalchemy import text

    if url.startswith("sqlite"):
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    else:
        common.vacuum_analyze(url)


# --------------------------------------------------------------------------- measuring


@contextmanager
def counting_statements(engine: Any) -> Iterator[list[int]]:
    """Count the SQL statements sent meanwhile (BEGIN/COMMIT and pool pings excluded)."""
    from sqlalchemy import event

    count = [0]

    def hit(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's explicit BEGIN
            count[0] += 1

    event.listen(engine, "before_cursor_execute", hit)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", hit)


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()`` and its wall-clock seconds: the user waits for the download, not the CPU."""
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def summary(runs: list[float]) -> dict[str, Any]:
    """Best (what the code can do) and median (what a busy machine gave) of the runs."""
    return {
        "best": round(min(runs), 4),
        "median": round(statistics.median(runs), 4),
        "runs": [round(r, 4) for r in runs],
    }


def measure(db: Any, repeat: int) -> dict[str, Any]:
    """One untimed run (checked and counted), then ``repeat`` timed runs of each export.

    Each run starts from an empty session and loads the event as the route's decorator does,
    so no ORM object is reused from the previous run.
    """
    from openpyxl import load_workbook
    from sqlalchemy import func, select

    from symposium.models import Enrolment, EnrolmentStatus, Event, Session
    from symposium.services.backoffice import exports

    def event() -> Any:
        db.session.remove()
        return db.session.scalars(select(Event).where(Event.slug == SLUG)).one()

    fullest_id = db.session.scalars(
        select(Enrolment.session_id)
        .join(Session, Session.id == Enrolment.session_id)
        .join(Event, Event.id == Session.event_id)
        .where(Event.slug == SLUG, Enrolment.status != EnrolmentStatus.CANCELLED)
        .group_by(Enrolment.session_id)
        .order_by(func.count().desc(), Enrolment.session_id)
        .limit(1)
    ).one()

    def session_list() -> tuple[Any, bytes]:
        ev = event()  # loaded by the route's decorator, then session_or_404
        session = db.session.get(Session, fullest_id)
        participants = exports.session_participants(db.session, ev, session)
        table = exports.participants_table(ev, session, participants)
        return table, exports.to_xlsx(table.title, table.columns, table.rows)

    # Warm-up: first compilations and imports stay out of the figures; outcomes are checked.
    ev = event()
    with counting_statements(db.engine) as statements:
        table = exports.registrations_table(db.session, ev)
    xlsx = exports.to_xlsx(table.title, table.columns, table.rows)
    body = exports.to_csv(table.columns, table.rows)
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).active
    xlsx_rows = sum(1 for _row in sheet.iter_rows(values_only=True))
    csv_rows = len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))))
    with counting_statements(db.engine) as session_statements:
        session_table, _xlsx = session_list()
    db.session.remove()

    steps: dict[str, list[float]] = {k: [] for k in ("table", "xlsx", "csv", "session_list")}
    for _run in range(repeat):
        ev = event()
        table, took = timed(lambda ev=ev: exports.registrations_table(db.session, ev))
        steps["table"].append(took)
        xlsx, took = timed(lambda t=table: exports.to_xlsx(t.title, t.columns, t.rows))
        steps["xlsx"].append(took)
        body, took = timed(lambda t=table: exports.to_csv(t.columns, t.rows))
        steps["csv"].append(took)
        _result, took = timed(session_list)
        steps["session_list"].append(took)
        db.session.remove()
    xlsx_total = [a + b for a, b in zip(steps["table"], steps["xlsx"], strict=True)]
    csv_total = [a + b for a, b in zip(steps["table"], steps["csv"], strict=True)]
    rows = len(table.rows)
    return {
        "route": XLSX_ROUTE,
        "rows": rows,
        "columns": len(table.columns),
        "sql_statements": statements[0],
        "xlsx_bytes": len(xlsx),
        "csv_bytes": len(body),
        "xlsx_rows_with_header": xlsx_rows,
        "csv_rows_with_header": csv_rows,
        "seconds": {
            "table": summary(steps["table"]),
            "xlsx": summary(steps["xlsx"]),
            "csv": summary(steps["csv"]),
            "xlsx_total": summary(xlsx_total),
            "csv_total": summary(csv_total),
        },
        "rows_per_s": {
            "xlsx": round(rows / min(xlsx_total), 1),
            "csv": round(rows / min(csv_total), 1),
        },
        "session_list": {
            "session": session_table.title,
            "rows": len(session_table.rows),
            "sql_statements": session_statements[0],
            "seconds": summary(steps["session_list"]),
        },
    }


def load_accreditation(db: Any, now: datetime) -> dict[str, int]:
    """A register's accreditation and a day of presence, for ``measure_accreditation``.

    A closing plenary joins the opening and the two rounds, so every attendee has four
    sessions; GAIA accredits all four (1.5 points each, at most 6 a day) and, for the
    benchmark only, every profession earns its points there (the catalogue links GAIA to
    doctors), so the list holds everyone. Every confirmed place gets a presence, every
    plenary everyone: one in 20 arrives 25 minutes late at the opening, one in 25 leaves
    round 2 half an hour early. Bulk inserts again.
    """
    from sqlalchemy import insert, select

    from symposium.models import (
        Accreditation,
        AccreditedSession,
        Enrolment,
        EnrolmentStatus,
        Event,
        Presence,
        Profession,
        Register,
        Registration,
        RegistrationStatus,
        Session,
        SessionKind,
    )
    from symposium.models.catalogue import profession_registers

    event = db.session.scalars(select(Event).where(Event.slug == SLUG)).one()
    opening = next(s for s in event.sessions if s.key == "opening")
    closing = Session(
        event=event, key="afsluiting", kind=SessionKind.PLENARY, title="Afsluiting",
        starts_at=event.ends_at - timedelta(hours=1), ends_at=event.ends_at, position=999,
    )  # fmt: skip
    db.session.add(closing)
    gaia = db.session.scalars(select(Register).where(Register.code == "GAIA")).one()
    linked = set(
        db.session.scalars(
            select(profession_registers.c.profession_id).where(
                profession_registers.c.register_id == gaia.id
            )
        )
    )
    others = [p for p in db.session.scalars(select(Profession.id)) if p not in linked]
    if others:
        db.session.execute(
            insert(profession_registers),
            [{"profession_id": p, "register_id": gaia.id} for p in others],
        )
    accreditation = Accreditation(event=event, register=gaia, activity_id="999999", daily_cap=6)
    db.session.add(accreditation)
    db.session.flush()
    rounds = {s.id: s for s in event.sessions}
    db.session.add_all(
        AccreditedSession(accreditation_id=accreditation.id, session_id=s.id, points=1.5)
        for s in event.sessions
    )
    people = db.session.scalars(
        select(Registration.id).where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.ACTIVE
        )
    ).all()
    places = db.session.execute(
        select(Enrolment.registration_id, Enrolment.session_id).where(
            Enrolment.status == EnrolmentStatus.CONFIRMED,
            Enrolment.session_id.in_(list(rounds)),
        )
    ).all()
    rows = []

    def presence(registration_id: int, session: Any, late: int = 0, early: int = 0) -> None:
        start, end = session.effective_starts_at, session.effective_ends_at
        rows.append({
            "session_id": session.id, "registration_id": registration_id,
            "checked_in_at": start + timedelta(minutes=late - 3), "checked_in_via": "scan",
            "checked_out_at": end - timedelta(minutes=early) if early else None,
            "checked_out_via": "scan" if early else None, "admitted_anyway": False,
            "recorded_at": start,
        })  # fmt: skip

    for i, registration_id in enumerate(people):
        presence(registration_id, opening, late=28 if i % 20 == 0 else 0)
        presence(registration_id, closing)
    for i, (registration_id, session_id) in enumerate(places):
        session = rounds[session_id]
        second = session.round is not None and session.round.key == "r2"
        presence(registration_id, session, early=30 if second and i % 25 == 0 else 0)
    db.session.execute(insert(Presence.__table__), rows)
    db.session.commit()
    return {"attendees": len(people), "presences": len(rows)}


def measure_accreditation(db: Any, repeat: int) -> dict[str, Any]:
    """The points of every attendee for one register (``points.event_points``) and that
    register's XLSX presence list (``lists.attendance_list`` + ``lists.xlsx``, the route
    ``/admin/events/<slug>/accreditation/GAIA/attendance.xlsx``)."""
    from openpyxl import load_workbook
    from sqlalchemy import select

    from symposium.models import Event
    from symposium.services.accreditation import lists, points

    def event() -> Any:
        db.session.remove()
        return db.session.scalars(select(Event).where(Event.slug == SLUG)).one()

    def the_list() -> tuple[Any, bytes]:
        ev = event()
        found = lists.attendance_list(
            db.session, ev, lists.accreditation_for(db.session, ev, "GAIA")
        )
        return found, lists.xlsx(found)

    ev = event()
    with counting_statements(db.engine) as statements:
        computed = points.event_points(db.session, ev)
    found, xlsx = the_list()
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).active
    xlsx_rows = sum(1 for _row in sheet.iter_rows(values_only=True))
    earned = sum(1 for rs in computed.results.values() for r in rs if r.earned)
    steps: dict[str, list[float]] = {"points": [], "list_xlsx": []}
    for _run in range(repeat):
        ev = event()
        _computed, took = timed(lambda ev=ev: points.event_points(db.session, ev))
        steps["points"].append(took)
        _made, took = timed(the_list)
        steps["list_xlsx"].append(took)
    db.session.remove()
    return {
        "attendees": len(computed.results),
        "earned": earned,
        "rows": len(found.rows),
        "missing_number": len(found.missing),
        "xlsx_rows": xlsx_rows,
        "sql_statements": statements[0],
        "seconds": {"points": summary(steps["points"]), "list_xlsx": summary(steps["list_xlsx"])},
    }


def measure_certificates(db: Any, count: int) -> dict[str, Any]:
    """Issue the event's certificates (``issuing.issue_all``: everyone with points, one mail
    each), then build ``count`` of them three ways, timed in CPU seconds of this process (one
    core; the PDFs are built here, not in the database): as the organiser's ZIP does
    (``document.singles``: one document, split), as the mail worker does (``delivery.drain``
    sending that many certificate mails to a server that keeps nothing: rendering, the PDF
    from batches of those waiting, MIME) and one at a time
    (``document.pdf``, the manage page's download), the last on a sample."""
    from flask import current_app
    from sqlalchemy import select

    from symposium.models import Event
    from symposium.services.certificates import design, document, issuing
    from symposium.services.mail import delivery

    db.session.remove()
    ev = db.session.scalars(select(Event).where(Event.slug == SLUG)).one()
    start = time.perf_counter()
    report = issuing.issue_all(db.session, None, ev, datetime.now(UTC))
    db.session.commit()
    issue_seconds = time.perf_counter() - start
    found = issuing.issued(db.session, ev)[:count]
    designs = {ev.id: design.design_of(db.session, ev)}
    cpu = time.process_time()
    singles = document.singles(found, designs)
    zip_cpu = time.process_time() - cpu
    document._built.clear()
    # The worker's own session, as `flask send-mail` has: not one holding every
    # registration, presence and certificate loaded above (each commit would expire them all).
    built, issued_count, not_eligible = len(found), len(report.issued), len(report.not_eligible)
    sizes = sorted(len(body) for body in singles)
    del report, found, singles
    db.session.remove()

    class Discard:
        """A mail server that takes every message and keeps none."""

        def send(self, message: Any, sender: str, recipient: str) -> None:
            pass

        def close(self) -> None:
            pass

    cpu = time.process_time()
    sent = delivery.drain(
        db.session, Discard(), current_app.config, lambda: datetime.now(UTC), limit=built
    )
    worker_cpu = time.process_time() - cpu
    ev = db.session.scalars(select(Event).where(Event.slug == SLUG)).one()
    sample = issuing.issued(db.session, ev)[:20]
    cpu = time.process_time()
    for certificate in sample:
        document.pdf(certificate, design.design_of(db.session, ev))
    one_cpu = (time.process_time() - cpu) / max(1, len(sample))
    db.session.remove()
    return {
        "issued": issued_count,
        "not_eligible": not_eligible,
        "issue_seconds": round(issue_seconds, 2),
        "built": built,
        "mailed": sent.sent,
        "cpu_seconds": {
            "batch": round(zip_cpu, 2),
            "worker": round(worker_cpu, 2),
            "one_at_a_time_each": round(one_cpu, 4),
        },
        "ms_per_certificate": {
            "batch": round(zip_cpu / max(1, built) * 1000, 1),
            "worker": round(worker_cpu / max(1, built) * 1000, 1),
            "one_at_a_time": round(one_cpu * 1000, 1),
        },
        "median_bytes": sizes[len(sizes) // 2] if sizes else 0,
        "batch": document.BATCH,
    }


def run(args: argparse.Namespace, found: dict[str, list[str]]) -> dict[str, Any]:
    """Build the database, load the registrations, measure; the figures as a dict."""
    from symposium import create_app
    from symposium.extensions import db

    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp, database(args, tmp) as url:
        app = create_app(common.app_config(url), instance_path=tmp)
        # A request context for the XLSX route: Flask-Babel picks the language as it would.
        with app.test_request_context(XLSX_ROUTE):
            start = time.perf_counter()
            loaded = load_registrations(db, args.registrations, datetime.now(UTC))
            analyze(url, db)
            load_seconds = time.perf_counter() - start
            busy_before = common.wait_until_quiet(args.wait_quiet)
            attendance = measure(db, args.repeat)
            db.session.remove()
            presence_loaded = load_accreditation(db, datetime.now(UTC))
            analyze(url, db)
            accreditation = measure_accreditation(db, args.repeat)
            db.session.remove()
            certificates = measure_certificates(db, args.certificates)
            db.engine.dispose()
    return {
        "benchmark": "documents",
        "machine": common.machine(),
        "database": "sqlite" if args.sqlite else "postgresql",
        "registrations": args.registrations,
        "repeat": args.repeat,
        "loaded": loaded,
        "load_seconds": round(load_seconds, 2),
        "machine_busy_before": busy_before,
        "attendance_list": attendance,
        "accreditation": {**accreditation, "loaded": presence_loaded},
        "certificates": certificates,
        "routes": found,
    }


def report(result: dict[str, Any]) -> None:
    att = result["attendance_list"]
    sec = att["seconds"]
    loaded = result["loaded"]
    s = att["session_list"]
    acc = result["accreditation"]
    cert = result["certificates"]

    def ratio(step: dict[str, Any]) -> str:
        """Against the registrations XLSX of the same run (same rows, no presence)."""
        return f"{step['best'] / sec['xlsx_total']['best']:.2f}x the registrations XLSX"

    def best(step: dict[str, Any], note: str = "") -> tuple[str, str]:
        return f"{step['best']:.3f}", f"median {step['median']:.3f}{note}"

    rows: list[tuple[str, object, str]] = [
        (
            "registrations (rows in the list)",
            att["rows"],
            f"{loaded['cancelled']} cancelled; {loaded['enrolments']} enrolments, "
            f"{loaded['waitlisted']} waiting; {result['database']}",
        ),
        ("SQL statements for the table", att["sql_statements"], "registrations_table"),
        ("query + table build (s)", *best(sec["table"], "; registrations_table")),
        ("attendance XLSX: to_xlsx (s)", *best(sec["xlsx"])),
        ("attendance CSV: to_csv (s)", *best(sec["csv"])),
        ("attendance XLSX total (s)", *best(sec["xlsx_total"], f"; {XLSX_ROUTE}")),
        ("attendance CSV total (s)", *best(sec["csv_total"], "; registrations.csv")),
        ("attendance XLSX rows/s", att["rows_per_s"]["xlsx"], "best run, table + to_xlsx"),
        ("attendance CSV rows/s", att["rows_per_s"]["csv"], "best run, table + to_csv"),
        ("XLSX size (bytes)", att["xlsx_bytes"], f"{att['columns']} columns"),
        ("CSV size (bytes)", att["csv_bytes"], "UTF-8 with BOM"),
        (
            f"session list XLSX, {s['rows']} rows (s)",
            *best(
                s["seconds"], f"; {s['session']}; event lookup included; {s['sql_statements']} SQL"
            ),
        ),
        (
            f"points, {acc['attendees']} attendees x 4 sessions (s)",
            *best(
                acc["seconds"]["points"],
                f"; goal 1 s; {acc['sql_statements']} SQL; "
                f"{acc['earned']} earned points; {ratio(acc['seconds']['points'])}",
            ),
        ),
        (
            f"register XLSX presence list, {acc['rows']} rows (s)",
            *best(
                acc["seconds"]["list_xlsx"],
                f"; goal 2 s; {acc['missing_number']} "
                f"without a BIG number; {ratio(acc['seconds']['list_xlsx'])}",
            ),
        ),
        (
            "certificates issued (s)",
            f"{cert['issue_seconds']:.2f}",
            f"{cert['issued']} issued and mailed (queued), {cert['not_eligible']} without one; "
            "issuing.issue_all, wall time",
        ),
        (
            f"{cert['built']} certificate PDFs, as the ZIP (CPU s)",
            f"{cert['cpu_seconds']['batch']:.2f}",
            f"goal 20 s per 1,000; {cert['ms_per_certificate']['batch']} ms each; "
            f"median {cert['median_bytes']} bytes",
        ),
        (
            f"{cert['built']} certificate PDFs, as the mail worker (CPU s)",
            f"{cert['cpu_seconds']['worker']:.2f}",
            f"{cert['ms_per_certificate']['worker']} ms each, {cert['mailed']} mails sent: "
            f"text, PDF (batches of {cert['batch']}), MIME",
        ),
        (
            "one certificate PDF alone (CPU ms)",
            f"{cert['ms_per_certificate']['one_at_a_time']}",
            "the manage page's download, a preview; fonts loaded and subset per document",
        ),
        (
            "timed runs per step",
            result["repeat"],
            f"best and median of these; machine {result['machine_busy_before']:.0%} busy "
            f"just before; loading the rows took {result['load_seconds']:.1f} s",
        ),
    ]
    machine = result["machine"]
    common.print_table(
        f"documents: attendance list of {result['registrations']} registrations "
        f"({machine['cores']} cores, {machine['memory']})",
        rows,
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=5000, help="rows in the list")
    parser.add_argument(
        "--certificates", type=int, default=1000, help="certificate PDFs to build and time"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per step (best and median reported)"
    )
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="use a temporary SQLite file instead of PostgreSQL (no server needed)",
    )
    common.common_arguments(parser)
    args = parser.parse_args(argv)
    if args.registrations < 1 or args.repeat < 1:
        parser.error("--registrations and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    found = available()
    result = run(args, found)
    report(result)
    common.write_json(args.json, result)
    att = result["attendance_list"]
    expected = args.registrations + 1  # the header row
    acc = result["accreditation"]
    cert = result["certificates"]
    if not cert["built"] or cert["built"] != min(args.certificates, cert["issued"]):
        print(f"FAILED: {cert['built']} certificates built of {cert['issued']} issued")
        return 1
    if cert["mailed"] != cert["built"]:
        print(f"FAILED: {cert['mailed']} certificate mails sent of {cert['built']}")
        return 1
    if acc["xlsx_rows"] != acc["rows"] + 7:  # five header lines, a blank one, the columns
        print(f"FAILED: the presence list has {acc['xlsx_rows']} rows for {acc['rows']} people")
        return 1
    if att["xlsx_rows_with_header"] != expected or att["csv_rows_with_header"] != expected:
        print(
            f"FAILED: the XLSX has {att['xlsx_rows_with_header']} rows and the CSV "
            f"{att['csv_rows_with_header']}, expected {expected} (header included)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
