"""Programme page: requests/s and latency of ``GET /events/7roses-2027/`` against a static file.

A fresh PostgreSQL database gets the schema and ``examples/7roses-symposium.toml``, then
``VACUUM ANALYZE``. gunicorn serves ``bench.wsgi:app`` with ``--workers`` sync workers and a
temporary static folder holding a copy of the rendered page (so the static file has exactly
the page's size), served at ``/bench-static/programme.html`` the way Flask serves
``/static/``. ``bench.loadgen`` (a separate process) sends ``--requests`` GETs to each from
``--clients`` concurrent clients. Reported: requests/s, latency percentiles, the ratio page
/ static file, CPU per process group, and, when ``wrk`` is installed, wrk's rate on the
same static file, which shows whether the Python load generator holds the server back.

    python -m bench.programme_page [--workers N] [--clients 50] [--requests 2000]
                                   [--json out.json] [--profile stacks.txt]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

EVENT_FILE = common.ROOT / "examples" / "7roses-symposium.toml"
PAGE = "/events/7roses-2027/"
STATIC = "/bench-static/programme.html"
TARGET_RATIO = 1 / 3


def _phase(
    server: common.Gunicorn, path: str, args: argparse.Namespace, profile: str | None = None
) -> dict[str, Any]:
    spec = {
        "base_url": server.base_url,
        "client": args.client,
        "concurrency": args.clients,
        "max_seconds": args.max_seconds,
        "requests": {"method": "GET", "path": path, "count": args.requests},
    }
    busy_before = common.wait_until_quiet(args.wait_quiet)
    with (
        common.CpuMeter(server.pid) as meter,
        common.Profiler(server.pid, profile, args.profile_mode),
    ):
        load = common.run_load(spec, timeout=args.max_seconds + 300)
    cores = meter.cores_used({"loadgen": load["cpu"]})
    results = load["results"]
    ok = sum(1 for r in results if r[0] == 200)
    return {
        "path": path,
        "requests": len(results),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(Counter(r[0] for r in results).items())},
        "seconds": round(load["wall"], 3),
        "requests_per_s": round(ok / load["wall"], 1) if load["wall"] else 0.0,
        "latency_ms": common.latency_summary([r[1] for r in results]),
        "loadgen_cpu_share_of_one_core": round(load["cpu"] / load["wall"], 2)
        if load["wall"]
        else 0.0,
        "cores_used": cores,
        "machine_busy_before": busy_before,
        "event_loop": load.get("event_loop"),
        "load_client": load["client"],
    }


def wrk(url: str, connections: int, seconds: int) -> dict[str, Any] | None:
    """wrk's figures for one URL, or None when wrk is not installed."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    out = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests_per_s": float(rate.group(1)) if rate else None,
        "p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 1) if p99 else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "connections": connections,
        "seconds": seconds,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-page-") as tmp,
        common.fresh_database("page", args.pg_url) as dsn,
    ):
        static_dir = Path(tmp, "static")
        static_dir.mkdir()
        common.prepare_database(dsn, [EVENT_FILE], tmp)
        with common.Gunicorn(dsn, args.workers, tmp, str(static_dir), args.threads) as server:
            page = server.get_bytes(PAGE)
            Path(static_dir, "programme.html").write_bytes(page)
            assert len(server.get_bytes(STATIC)) == len(page)
            slots = args.workers * args.threads
            common.run_load(
                {
                    "base_url": server.base_url,
                    "client": args.client,
                    "concurrency": slots,
                    "requests": [{"method": "GET", "path": p} for p in (PAGE, STATIC)] * slots * 8,
                }
            )
            programme = _phase(server, PAGE, args, args.profile)
            static = _phase(server, STATIC, args)
            statements = common.count_statements(dsn, tmp, "GET", PAGE)
            wrk_static = wrk_page = None
            if args.wrk_seconds > 0:
                wrk_static = wrk(server.base_url + STATIC, args.clients, args.wrk_seconds)
                wrk_page = wrk(server.base_url + PAGE, args.clients, args.wrk_seconds)
    result: dict[str, Any] = {
        "benchmark": "programme_page",
        "machine": common.machine(),
        "workers": args.workers,
        "threads": args.threads,
        "clients": args.clients,
        "page_bytes": len(page),
        "sql_statements_per_page": statements,
        "programme": programme,
        "static": static,
        "ratio": round(programme["requests_per_s"] / static["requests_per_s"], 3)
        if static["requests_per_s"]
        else None,
        "wrk_static": wrk_static,
        "wrk_programme": wrk_page,
        "ratio_by_wrk": round(wrk_page["requests_per_s"] / wrk_static["requests_per_s"], 3)
        if wrk_page and wrk_static and wrk_page["requests_per_s"] and wrk_static["requests_per_s"]
        else None,
    }
    if args.profile:
        result["profile"] = common.summarise_profile(args.profile)
        result["profile_mode"] = args.profile_mode
    return result


def report(result: dict[str, Any]) -> None:
    page, static = result["programme"], result["static"]
    ratio = result["ratio"] or 0.0

    def lat(phase: dict[str, Any]) -> str:
        lat = phase["latency_ms"]
        return f"{lat['p50']} / {lat['p95']} / {lat['p99']}"

    def cores(phase: dict[str, Any]) -> str:
        c = phase["cores_used"]
        return f"{c['gunicorn']} / {c['postgres']} / {c['loadgen']} / {c['other']}"

    rows: list[tuple[str, object, str]] = [
        ("page size (bytes)", result["page_bytes"], f"GET {PAGE}"),
        ("SQL statements per page", result["sql_statements_per_page"], "+ BEGIN, ROLLBACK"),
        ("programme page requests/s", page["requests_per_s"], f"{page['ok']} x 200"),
        ("static file requests/s", static["requests_per_s"], f"{static['ok']} x 200, same size"),
        (
            "ratio page / static",
            f"{ratio:.0%}",
            f"target >= 33%: {'met' if ratio >= TARGET_RATIO else 'MISSED'}",
        ),
        ("page latency p50 / p95 / p99 (ms)", lat(page), ""),
        ("static latency p50 / p95 / p99 (ms)", lat(static), ""),
        (
            "concurrent clients",
            result["clients"],
            f"load generator: {page['load_client']} on {page['event_loop']}",
        ),
        ("gunicorn sync workers", result["workers"], f"threads per worker {result['threads']}"),
        (
            "page: cores gunicorn / postgres / loadgen / other",
            cores(page),
            f"{page['machine_busy_before']:.0%} busy just before",
        ),
        (
            "static: cores gunicorn / postgres / loadgen / other",
            cores(static),
            f"{static['machine_busy_before']:.0%} busy just before",
        ),
    ]
    for name, key, loadgen in (
        ("static", "wrk_static", static),
        ("page", "wrk_programme", page),
    ):
        w = result[key]
        if w and w["requests_per_s"]:
            rows.append(
                (
                    f"wrk on the {name} requests/s",
                    w["requests_per_s"],
                    f"p99 {w['p99_ms']} ms; loadgen reached "
                    f"{loadgen['requests_per_s'] / w['requests_per_s']:.0%} of it",
                )
            )
    if result["ratio_by_wrk"] is not None:
        rows.append(
            (
                "ratio page / static by wrk",
                f"{result['ratio_by_wrk']:.0%}",
                "the same ratio with wrk (C) as the client on both",
            )
        )
    common.print_table(
        f"programme_page: {result['machine']['cores']} cores, {result['machine']['memory']}",
        rows,
    )
    if "profile" in result:
        from bench.flash_crowd import print_profile

        print_profile(result["profile"], result["profile_mode"])


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2 * common.cores(), help="default 2 x cores")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests per URL")
    parser.add_argument("--client", choices=("auto", "aiohttp", "httpx"), default="auto")
    parser.add_argument(
        "--wrk-seconds", type=int, default=5, help="wrk run per URL when wrk is installed; 0: skip"
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="sample the workers with py-spy during the page phase into PATH; slows the run",
    )
    parser.add_argument(
        "--profile-mode",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: samples holding the GIL (where CPU goes); wall: waits on PostgreSQL too",
    )
    parser.add_argument("--max-seconds", type=float, default=300, help="upper bound per phase")
    common.common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    report(result)
    common.write_json(args.json, result)
    failed = any(p["ok"] != p["requests"] for p in (result["programme"], result["static"])) or any(
        w and w["non_2xx"] for w in (result["wrk_static"], result["wrk_programme"])
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
