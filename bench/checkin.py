"""Check-in: a door of 300 people, scanned by 20 phones at once.

A fresh PostgreSQL database gets the schema and an event running now: a plenary of
``--people`` registrations (registered in-process through ``registration.lifecycle``, as
at the door: registration closes when an event starts), and
a door account with a door token; then ``VACUUM ANALYZE``. gunicorn serves
``bench.wsgi:app`` with ``--workers`` sync workers, and ``bench.loadgen`` (its own process)
sends from ``--scanners`` concurrent clients:

1. the baseline: ``GET /static/js/print.js`` (Flask's static file view, no database), as
   many times as there are people;
2. the door: one ``POST /api/v1/events/<slug>/sessions/<id>/checkins`` per person (lookup
   of the code, the admission rule, the presence and the scan row, commit), in a shuffled
   order, open loop at the rate of the scanners each scanning one ticket every
   ``--seconds-per-scan`` (20 phones, one ticket each 2 s: 10 scans/s, the door of 300 in
   30 s instead of 15 minutes), latency counted from when each scan was due;
3. the capacity: as many more people, closed loop (each scanner sends its next scan as soon
   as the last is answered), for the most scans/s the server gives;
4. the replays: every scan of 2 again, under its own client id (a phone that lost its
   answers), each answered from the scan row, nothing recorded.

Reported: scans/s and latency p50/p95/p99 per phase, the ratio door p99 / baseline p99, and
the goal (p99 under 50 ms at 20 scanners, phase 2). Then the database is checked: exactly
one presence per person, one scan row per client id. Any 5xx, failed connection or
miscount exits non-zero.

    python -m bench.checkin [--workers N] [--scanners 20] [--people 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SLUG = "bench-checkin"
TARGET_P99_MS = 50.0
BASELINE = "/static/js/print.js"


def event_toml(now: datetime) -> str:
    """An event whose plenary runs now, registration open."""

    def stamp(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    start, end = now - timedelta(minutes=10), now + timedelta(minutes=80)
    return (
        "\n".join(
            [
                f'slug = "{SLUG}"',
                'title = "Benchmark: check-in"',
                'status = "published"',
                'languages = ["nl", "en"]',
                f"starts_at = {stamp(start)}",
                f"ends_at = {stamp(end)}",
                f"registration_opens_at = {stamp(now - timedelta(days=1))}",
                f"registration_closes_at = {stamp(end)}",
                'venue = "Benchmarkzaal"',
                "",
                "[organiser]",
                'name = "Benchmark"',
                'email = "bench@example.org"',
                "",
                "[[sessions]]",
                'key = "plenair"',
                'kind = "plenary"',
                'title = "Plenaire opening"',
                'room = "Grote zaal"',
                f"starts_at = {stamp(start)}",
                f"ends_at = {stamp(end)}",
            ]
        )
        + "\n"
    )


def prepare(dsn: str, tmp: str, people: int) -> dict[str, Any]:
    """Register ``people`` and make a door token; returns the codes, the token, the session."""
    from sqlalchemy import select

    from symposium import clock, create_app
    from symposium.extensions import db
    from symposium.models import Event, Role
    from symposium.services.accounts import access, door_tokens
    from symposium.services.registration import lifecycle, validation

    app = create_app(common.app_config(dsn), instance_path=tmp)
    with app.app_context(), app.test_request_context():
        event = db.session.scalars(select(Event).where(Event.slug == SLUG)).one()
        codes = []
        for n in range(1, people + 1):
            data = validation.RegistrationInput(
                name=f"Deelnemer {n}", email=f"bench.deur{n}@example.org",
                profession="gz-psycholoog", identifiers={"BIG": f"{n:011d}"}, consent=True,
            )  # fmt: skip
            done = lifecycle.register(db.session, event, data, clock.now(), "bench", at_door=True)
            codes.append(done.registration.checkin_code)
            if n % 100 == 0:
                db.session.commit()
        user, _ = access.create_user(
            db.session, "deur@example.org", Role.DOOR, clock.now(), event=event,
            password="bench-door-password",
        )  # fmt: skip
        _row, token = door_tokens.create(db.session, None, user, event, "bench", clock.now())
        session_id = event.sessions[0].id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"codes": codes, "token": token, "session_id": session_id}


def _phase(
    server: common.Gunicorn,
    requests: list[dict[str, Any]],
    args: argparse.Namespace,
    headers: dict[str, str] | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "base_url": server.base_url,
        "client": args.client,
        "concurrency": args.scanners,
        "max_seconds": args.max_seconds,
        "requests": requests,
        "headers": headers or {},
    }
    if rate:
        spec["rate"] = rate
    busy_before = common.wait_until_quiet(args.wait_quiet)
    with common.CpuMeter(server.pid) as meter:
        load = common.run_load(spec, timeout=args.max_seconds + 300)
    results = load["results"]
    return {
        "requests": len(results),
        "statuses": {str(k): v for k, v in sorted(Counter(r[0] for r in results).items())},
        "seconds": round(load["wall"], 3),
        "requests_per_s": round(len(results) / load["wall"], 1) if load["wall"] else 0.0,
        "latency_ms": common.latency_summary([r[1] for r in results]),
        "cores_used": meter.cores_used({"loadgen": load["cpu"]}),
        "machine_busy_before": busy_before,
        "load_client": load["client"],
    }


def check(dsn: str, people: int, session_id: int) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        presences = conn.execute(
            "SELECT count(*), count(DISTINCT registration_id) FROM presences "
            "WHERE session_id = %s AND undone_at IS NULL",
            (session_id,),
        ).fetchone()
        scans = conn.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM checkin_scans "
            "WHERE client_id LIKE 'phone-%%'"
        )
        scan_rows = scans.fetchone()
    assert presences is not None and scan_rows is not None
    problems = []
    if presences != (people, people):
        problems.append(f"presences {presences[0]} for {presences[1]} people, want {people}")
    if scan_rows != (people, people):
        problems.append(f"scan rows {scan_rows[0]} ({scan_rows[1]} ids), want {people}")
    return {"presences": presences[0], "scan_rows": scan_rows[0], "problems": problems}


def run(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="bench-checkin-") as tmp,
        common.fresh_database("checkin", args.pg_url) as dsn,
    ):
        event_file = Path(tmp, "event.toml")
        event_file.write_text(event_toml(now))
        common.prepare_database(dsn, [event_file], tmp)
        made = prepare(dsn, tmp, 2 * args.people)
        common.vacuum_analyze(dsn)
        path = f"/api/v1/events/{SLUG}/sessions/{made['session_id']}/checkins"
        order = list(range(2 * args.people))
        random.Random(args.seed).shuffle(order)
        scans = [
            {"method": "POST", "path": path,
             "json": {"client_id": f"phone-{i % args.scanners}-{i}", "code": made["codes"][i]}}
            for i in order
        ]  # fmt: skip
        door_scans, more_scans = scans[: args.people], scans[args.people :]
        rate = args.scanners / args.seconds_per_scan
        auth = {"Authorization": f"Bearer {made['token']}"}
        with common.Gunicorn(dsn, args.workers, tmp, threads=args.threads) as server:
            # Every worker's first requests (imports, compiled queries, catalogs) are not
            # measured: the static file, and scans of a code nobody has (recorded as such).
            warm = [{"method": "GET", "path": BASELINE}] * (args.workers * 4) + [
                {"method": "POST", "path": path,
                 "json": {"client_id": f"warm-{n}", "code": "WARM-UPXX-XXXXX"}}
                for n in range(args.workers * 8)
            ]  # fmt: skip
            common.run_load({"base_url": server.base_url, "concurrency": args.workers,
                             "requests": warm, "client": args.client, "headers": auth})  # fmt: skip
            baseline = _phase(
                server, [{"method": "GET", "path": BASELINE}] * args.people, args, rate=rate
            )
            door = _phase(server, door_scans, args, auth, rate=rate)
            capacity = _phase(server, more_scans, args, auth)
            replays = _phase(server, list(reversed(more_scans)), args, auth)
        checked = check(dsn, 2 * args.people, made["session_id"])
    p99 = door["latency_ms"]["p99"]
    return {
        "benchmark": "checkin",
        "machine": common.machine(),
        "workers": args.workers,
        "threads": args.threads,
        "scanners": args.scanners,
        "people": args.people,
        "seconds_per_scan": args.seconds_per_scan,
        "rate": rate,
        "baseline": baseline,
        "door": door,
        "capacity": capacity,
        "replays": replays,
        "ratio_p99_to_baseline": round(p99 / baseline["latency_ms"]["p99"], 2)
        if baseline["latency_ms"]["p99"]
        else None,
        "goal_met": p99 < TARGET_P99_MS,
        "database": checked,
    }


def report(result: dict[str, Any]) -> None:
    def lat(phase: dict[str, Any]) -> str:
        lat = phase["latency_ms"]
        return f"{lat['p50']} / {lat['p95']} / {lat['p99']}"

    door, capacity = result["door"], result["capacity"]
    replays, base = result["replays"], result["baseline"]
    rows: list[tuple[str, object, str]] = [
        ("people at the door", result["people"],
         f"{result['scanners']} scanners, one scan each {result['seconds_per_scan']} s"),
        ("door: scans/s (open loop)", door["requests_per_s"], f"statuses {door['statuses']}"),
        ("door: latency p50 / p95 / p99 (ms)", lat(door),
         f"goal p99 < {TARGET_P99_MS:.0f} ms: {'met' if result['goal_met'] else 'MISSED'}"),
        ("capacity: scans/s (closed loop)", capacity["requests_per_s"],
         f"{result['scanners']} scanners as fast as answered; {capacity['statuses']}"),
        ("capacity: latency p50 / p95 / p99 (ms)", lat(capacity), ""),
        ("replays/s", replays["requests_per_s"], f"statuses {replays['statuses']}"),
        ("replay latency p50 / p95 / p99 (ms)", lat(replays), "answered from the scan row"),
        ("baseline static file requests/s", base["requests_per_s"], f"{BASELINE}, same rate"),
        ("baseline latency p50 / p95 / p99 (ms)", lat(base), "no database"),
        ("ratio door p99 / baseline p99", result["ratio_p99_to_baseline"], "same run"),
        ("gunicorn sync workers", result["workers"], f"threads per worker {result['threads']}"),
        ("presences / scan rows", f"{result['database']['presences']} / "
         f"{result['database']['scan_rows']}", "; ".join(result["database"]["problems"]) or "ok"),
    ]  # fmt: skip
    common.print_table(
        f"checkin: {result['machine']['cores']} cores, {result['machine']['memory']}", rows
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2 * common.cores(), help="default 2 x cores")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--scanners", type=int, default=20, help="concurrent scanners")
    parser.add_argument("--people", type=int, default=300, help="people at the door")
    parser.add_argument(
        "--seconds-per-scan", type=float, default=2.0, help="one scanner's pace at the door"
    )
    parser.add_argument("--seed", type=int, default=13, help="the order people arrive in")
    parser.add_argument("--client", choices=("auto", "aiohttp", "httpx"), default="auto")
    parser.add_argument("--max-seconds", type=float, default=300, help="upper bound per phase")
    common.common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    report(result)
    common.write_json(args.json, result)
    bad = any(
        set(phase["statuses"]) - {"200", "201"}
        for phase in (result["door"], result["capacity"], result["replays"], result["baseline"])
    )
    return 1 if bad or result["database"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
