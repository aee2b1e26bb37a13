"""Flash crowd: many people register through the JSON API at the moment registration opens.

A fresh PostgreSQL database gets the schema (the migrations) and an event of 2 rounds of 10
workshops of 25 places, some with per-profession quotas, open now (``bench.workload``); then
``VACUUM ANALYZE``. gunicorn serves ``bench.wsgi:app`` (rate limiter off) with ``--workers``
sync workers on a free loopback port, and ``bench.loadgen``, a separate process, sends
``--registrations`` ``POST /api/v1/events/<slug>/registrations`` from ``--clients``
concurrent clients (each person picks one workshop per round, by a fixed seed). Reported:
registrations/s, latency percentiles, errors by status, CPU per process group, and the ratio
to ``raw_limit`` measured in the same run (before gunicorn starts, on its own database).
Finally the database is checked: no session over capacity, no profession over its quota,
waiting lists numbered exactly 1..n, nobody waiting while a place that fits is free. Any
violation, any 5xx or failed connection, exits non-zero.

    python -m bench.flash_crowd [--workers N] [--clients 200] [--registrations 2000]
                                [--json out.json] [--profile stacks.txt]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, raw_limit, workload
from bench.workload import SLUG, Shape

TARGET_RATIO = 0.40
TARGET_P99_MS = 150.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    shape = Shape()
    persons = workload.people(args.registrations, args.seed, shape)
    raw_concurrency = args.raw_concurrency or args.workers * args.threads
    raw = None
    if not args.no_raw:
        print(f"raw_limit: {raw_concurrency} connections ...", file=sys.stderr, flush=True)
        raw = raw_limit.run_standalone(
            persons, shape, raw_concurrency, args.pg_url, args.max_seconds, args.wait_quiet
        )

    print(f"flash_crowd: {args.workers} gunicorn workers ...", file=sys.stderr, flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench-flash-") as tmp,
        common.fresh_database("http", args.pg_url) as dsn,
    ):
        event_file = Path(tmp, "event.toml")
        event_file.write_text(workload.event_toml(shape))
        common.prepare_database(dsn, [event_file], tmp)
        with common.Gunicorn(dsn, args.workers, tmp, threads=args.threads) as server:
            programme = server.get_json(f"/api/v1/events/{SLUG}")
            ids = {s["key"]: s["id"] for s in programme["sessions"]}
            path = f"/api/v1/events/{SLUG}/registrations"
            invalid = {**persons[0].body(ids), "consent": False}  # 422: validates, writes nothing
            slots = args.workers * args.threads
            common.run_load(
                {
                    "base_url": server.base_url,
                    "client": args.client,
                    "concurrency": slots,
                    "requests": [{"method": "GET", "path": f"/api/v1/events/{SLUG}"}] * slots * 8
                    + [{"method": "POST", "path": path, "json": invalid}] * slots * 4,
                }
            )
            spec = {
                "base_url": server.base_url,
                "client": args.client,
                "concurrency": args.clients,
                "max_seconds": args.max_seconds,
                "timeout": 120,
                "rate": args.rate,
                "requests": [
                    {"method": "POST", "path": path, "json": p.body(ids)} for p in persons
                ],
            }
            busy_before = common.wait_until_quiet(args.wait_quiet)
            with (
                common.CpuMeter(server.pid) as meter,
                common.Profiler(server.pid, args.profile, args.profile_mode),
            ):
                load = common.run_load(spec, timeout=args.max_seconds + 300)
        counts, violations = workload.check(dsn)
        extra = workload.people(args.registrations + 2, args.seed, shape)[-2:]
        statements = common.count_statements(dsn, tmp, "POST", path, [p.body(ids) for p in extra])

    results = load["results"]
    statuses = Counter(r[0] for r in results)
    created = statuses.get(201, 0)
    errors: dict[str, dict[str, int]] = defaultdict(dict)
    for status, _ms, code in results:
        if status != 201:
            key = str(status) if status else "connection failed"
            errors[key][code or "-"] = errors[key].get(code or "-", 0) + 1
    if counts["registrations"] != created:
        violations.append(
            f"{counts['registrations']} registrations in the database, {created} answered 201"
        )
    rate = created / load["wall"] if load["wall"] else 0.0
    cores = meter.cores_used({"loadgen": load["cpu"]})
    result: dict[str, Any] = {
        "benchmark": "flash_crowd",
        "machine": common.machine(),
        "workers": args.workers,
        "threads": args.threads,
        "clients": args.clients,
        "registrations_sent": len(results),
        "not_sent": load["not_sent"],
        "load_client": f"{load['client']} on {load.get('event_loop')}",
        "seconds": round(load["wall"], 3),
        "registrations_per_s": round(rate, 1),
        "latency_ms": common.latency_summary([r[1] for r in results]),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
        "failed_connections": statuses.get(0, 0),
        "loadgen_cpu_share_of_one_core": round(load["cpu"] / load["wall"], 2)
        if load["wall"]
        else 0.0,
        "cores_used": cores,
        "machine_busy_before": busy_before,
        "database": counts,
        "violations": violations,
        "popular_share": round(workload.popular_share(persons, shape), 3),
        "open_loop_rate": args.rate,
        "sql_statements_per_registration": statements,
        "raw_limit": raw,
        "ratio_to_raw_limit": round(rate / raw["registrations_per_s"], 3) if raw else None,
    }
    if args.profile:
        result["profile"] = common.summarise_profile(args.profile)
        result["profile_mode"] = args.profile_mode
    return result


def report(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    cores = result["cores_used"]
    raw = result["raw_limit"]
    ratio = result["ratio_to_raw_limit"]
    if result["open_loop_rate"]:
        queueing = f"open loop at {result['open_loop_rate']:g}/s offered"
    elif result["registrations_per_s"]:
        wait = result["clients"] / result["registrations_per_s"] * 1000
        queueing = f"clients / rate = {wait:.0f} ms queueing (Little's law)"
    else:
        queueing = ""
    rows: list[tuple[str, object, str]] = [
        ("registrations/s", result["registrations_per_s"], ""),
        (
            "registrations answered 201",
            result["statuses"].get("201", 0),
            f"of {result['registrations_sent']} in {result['seconds']:.1f} s",
        ),
        ("concurrent clients", result["clients"], f"load generator: {result['load_client']}"),
        ("gunicorn sync workers", result["workers"], f"threads per worker {result['threads']}"),
        ("latency p50 (ms)", lat["p50"], ""),
        ("latency p95 (ms)", lat["p95"], ""),
        (
            "latency p99 (ms)",
            lat["p99"],
            _target(lat["p99"] < TARGET_P99_MS, f"< {TARGET_P99_MS:.0f}") + f"; {queueing}",
        ),
        ("latency max (ms)", lat["max"], ""),
        ("5xx responses", result["server_errors"], _target(result["server_errors"] == 0, "0")),
        ("failed connections", result["failed_connections"], ""),
        ("other non-201", _non_201(result["errors"]), ""),
    ]
    if raw:
        rows += [
            (
                "raw_limit registrations/s",
                raw["registrations_per_s"],
                f"{raw['concurrency']} connections, no HTTP/Flask, same run",
            ),
            (
                "ratio to raw_limit",
                f"{ratio:.0%}",
                _target(ratio >= TARGET_RATIO, f">= {TARGET_RATIO:.0%}")
                + ("; open loop: capped by the offered rate" if result["open_loop_rate"] else ""),
            ),
        ]
    db = result["database"]
    raw_statements = raw["statements_per_registration"] if raw else "-"
    rows += [
        (
            "SQL statements per registration",
            result["sql_statements_per_registration"],
            f"raw_limit: {raw_statements} (both + BEGIN, COMMIT)",
        ),
        (
            "enrolments confirmed / waitlisted",
            f"{db['confirmed']} / {db['waitlisted']}",
            f"{db['quotas_reached']} quotas filled; popular share {result['popular_share']:.0%}",
        ),
        (
            "violations",
            len(result["violations"]),
            _target(not result["violations"], "0 (capacity, quota, waiting list 1..n)"),
        ),
        (
            "cores: gunicorn / postgres / loadgen / other",
            f"{cores['gunicorn']} / {cores['postgres']} / {cores['loadgen']} / {cores['other']}",
            f"machine busy {cores['machine_busy_share']:.0%}, "
            f"{result['machine_busy_before']:.0%} just before the run",
        ),
    ]
    common.print_table(
        f"flash_crowd: {result['registrations_sent']} registrations, "
        f"{result['machine']['cores']} cores, {result['machine']['memory']}",
        rows,
    )
    for violation in result["violations"]:
        print(f"VIOLATION: {violation}")
    if "profile" in result:
        print_profile(result["profile"], result["profile_mode"])


def print_profile(profile: dict[str, list[tuple[str, float]]], mode: str = "cpu") -> None:
    samples = int(profile["busy_samples"][0][1])
    kind = "holding the GIL (CPU)" if mode == "cpu" else "busy or waiting (wall clock)"
    print(f"\nprofile of the gunicorn workers: {samples} samples {kind}, in % of them")
    for title, key in (
        ("where the time is (innermost frame's library)", "category"),
        ("innermost functions", "self"),
        ("app functions and templates, inclusive", "app"),
    ):
        print(f"  {title}:")
        for name, share in profile[key]:
            print(f"    {share:5.1f}%  {name}")


def _target(ok: bool, what: str) -> str:
    return f"target {what}: {'met' if ok else 'MISSED'}"


def _non_201(errors: dict[str, dict[str, int]]) -> str:
    parts = [
        f"{status} {code} x{n}"
        for status, codes in errors.items()
        if status not in ("connection failed",) and not status.startswith("5")
        for code, n in codes.items()
    ]
    return ", ".join(parts) or "0"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2 * common.cores(), help="default 2 x cores")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients")
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument(
        "--rate",
        type=float,
        help="open loop: offer this many registrations/s (at most --clients in flight) "
        "instead of every client sending again as soon as it is answered",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--client", choices=("auto", "aiohttp", "httpx"), default="auto")
    parser.add_argument(
        "--raw-concurrency",
        type=int,
        help="connections for raw_limit (default: workers x threads, the app's connections)",
    )
    parser.add_argument("--no-raw", action="store_true", help="skip the raw_limit run")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="sample the workers with py-spy into PATH (collapsed stacks) and print top costs; "
        "sampling slows the run, so take figures from a run without it",
    )
    parser.add_argument(
        "--profile-mode",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: samples holding the GIL (where CPU goes); wall: waits on PostgreSQL too",
    )
    parser.add_argument("--max-seconds", type=float, default=600, help="upper bound of the load")
    common.common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    report(result)
    common.write_json(args.json, result)
    failed = result["violations"] or result["server_errors"] or result["failed_connections"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
