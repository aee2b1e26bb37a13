"""The benchmarks in bench/ run end to end with tiny numbers, so the harness cannot rot.

They need PostgreSQL (each creates and drops its own database) and the ``bench`` extra
(gunicorn, aiohttp). With TEST_DATABASE_URL set they use that server; without it they use
127.0.0.1:5432 when it answers and are skipped, saying why, when it does not. Nothing here
asserts a timing.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from bench import common, documents, flash_crowd, programme_page, raw_limit, workload


def _admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:  # CREATE DATABASE works from any database of that server
        return url.replace("postgresql+psycopg://", "postgresql://", 1)
    return common.PG_URL


ADMIN_URL = _admin_url()


def _why_not() -> str | None:
    missing = [m for m in ("gunicorn", "aiohttp") if importlib.util.find_spec(m) is None]
    if missing:
        return f"bench extra not installed ({', '.join(missing)}): pip install -e '.[bench]'"
    problem = common.pg_unreachable(ADMIN_URL)
    if problem and not os.environ.get("TEST_DATABASE_URL"):
        return f"benchmarks need PostgreSQL: {problem}"
    return problem  # with TEST_DATABASE_URL set an unreachable server is a failure


needs_bench = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


@needs_bench
def test_raw_limit_runs(tmp_path: Path) -> None:
    out = tmp_path / "raw.json"
    code = raw_limit.main(
        ["--registrations", "20", "--concurrency", "2", "--pg-url", ADMIN_URL, "--json", str(out)]
    )
    result = json.loads(out.read_text())
    assert code == 0
    assert result["registrations"] == 20
    assert result["violations"] == []
    assert result["database"]["registrations"] == 20
    assert result["database"]["outbox"] == 20


@needs_bench
def test_flash_crowd_runs(tmp_path: Path) -> None:
    out = tmp_path / "flash.json"
    code = flash_crowd.main(
        [
            "--workers", "1", "--clients", "4", "--registrations", "20",
            "--raw-concurrency", "1", "--pg-url", ADMIN_URL, "--json", str(out),
        ]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert code == 0
    assert result["statuses"] == {"201": 20}
    assert result["violations"] == []
    assert result["database"]["registrations"] == 20
    assert result["raw_limit"]["registrations"] == 20
    assert result["ratio_to_raw_limit"] > 0


@needs_bench
def test_programme_page_runs(tmp_path: Path) -> None:
    out = tmp_path / "page.json"
    code = programme_page.main(
        [
            "--workers", "1", "--clients", "4", "--requests", "20", "--wrk-seconds", "0",
            "--pg-url", ADMIN_URL, "--json", str(out),
        ]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert code == 0
    assert result["programme"]["ok"] == result["static"]["ok"] == 20
    assert result["page_bytes"] > 1000
    assert result["ratio"] > 0


def _documents_pg_skip() -> str | None:
    """documents.py needs no gunicorn or aiohttp, only the server (or nothing, with SQLite)."""
    problem = common.pg_unreachable(ADMIN_URL)
    if problem and not os.environ.get("TEST_DATABASE_URL"):
        return f"benchmarks need PostgreSQL: {problem}"
    return None  # with TEST_DATABASE_URL set an unreachable server is a failure


@pytest.mark.parametrize(
    "database",
    [
        pytest.param(["--sqlite"], id="sqlite"),
        pytest.param(
            ["--pg-url", ADMIN_URL],
            id="postgresql",
            marks=pytest.mark.skipif(
                _documents_pg_skip() is not None, reason=str(_documents_pg_skip())
            ),
        ),
    ],
)
def test_documents_times_the_attendance_list(
    database: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "documents.json"
    code = documents.main(
        [
            "--registrations",
            "120",
            "--certificates",
            "30",
            "--repeat",
            "1",
            *database,
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert code == 0
    assert "attendance XLSX total (s)" in printed
    assert "certificate PDFs, as the ZIP (CPU s)" in printed
    assert result["benchmark"] == "documents"
    certificates = result["certificates"]
    assert certificates["issued"] > 30 and certificates["built"] == 30
    assert all(certificates["cpu_seconds"][way] > 0 for way in ("batch", "worker"))
    listed = result["attendance_list"]
    assert listed["rows"] == 120
    assert listed["xlsx_rows_with_header"] == listed["csv_rows_with_header"] == 121
    assert listed["xlsx_bytes"] > 5000
    assert listed["sql_statements"] == 5  # registrations_table: the same for 120 or 5,000
    assert result["loaded"]["cancelled"] == 1  # the 100th registration
    assert listed["session_list"]["rows"] > 0
    assert all(listed["seconds"][step]["best"] > 0 for step in ("table", "xlsx", "csv"))


def test_workload_is_fixed_by_seed_and_skewed() -> None:
    shape = workload.Shape()
    people = workload.people(600, 7, shape)
    assert people == workload.people(600, 7, shape)
    assert 0.28 < workload.popular_share(people, shape) < 0.39
    assert all(len(p.picks) == shape.rounds for p in people)
    assert {p.profession for p in people} >= set(workload.POPULAR_QUOTAS)


def test_workload_event_file_loads_and_is_open(app, db, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from symposium.models import Event
    from symposium.services.registration.lifecycle import check_open

    path = tmp_path / "bench-event.toml"
    path.write_text(workload.event_toml(workload.Shape(), now=clock.now))
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    event = db.session.scalars(select(Event).where(Event.slug == workload.SLUG)).one()
    check_open(event, clock.now)
    workshops = [s for s in event.sessions if s.round_id is not None]
    assert len(workshops) == 20
    assert {s.capacity for s in workshops} == {25}
    assert sum(1 for s in workshops if s.quotas) == 5


def test_profile_summary_reads_collapsed_stacks(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        'process 1:"gunicorn";run (gunicorn/arbiter.py:1);wait (gunicorn/arbiter.py:2) 50\n'
        'process 2:"w";handle (gunicorn/workers/sync.py:1);register (symposium/blueprints/'
        "api.py:9);Connection.wait (psycopg/connection.py:3) 30\n"
        'process 2:"w";handle (gunicorn/workers/sync.py:1);register (symposium/blueprints/'
        "api.py:9);render (jinja2/environment.py:4) 10\n"
    )
    summary = common.summarise_profile(str(stacks))
    assert summary["busy_samples"] == [("samples", 40.0)]
    assert dict(summary["category"]) == {
        "waiting on PostgreSQL (psycopg)": 75.0,
        "Jinja2 templates": 25.0,
    }
    assert dict(summary["app"]) == {"register (blueprints/api.py)": 100.0}


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert common.percentile(values, 50) == 50
    assert common.percentile(values, 99) == 99
    assert common.latency_summary([5.0])["p99"] == 5.0


def test_sign_in_timing_runs(tmp_path: Path) -> None:
    """In-process on SQLite: needs neither PostgreSQL nor the bench extra."""
    from bench import sign_in_timing

    out = tmp_path / "timing.json"
    assert sign_in_timing.main(["--rounds", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["median_ms"]) == {
        "login_known", "login_unknown", "reset_known", "reset_unknown"
    }  # fmt: skip


@needs_bench
def test_checkin_runs(tmp_path: Path) -> None:
    from bench import checkin

    out = tmp_path / "checkin.json"
    code = checkin.main(
        ["--people", "8", "--scanners", "2", "--workers", "1", "--seconds-per-scan", "0.1",
         "--wait-quiet", "0", "--pg-url", ADMIN_URL, "--json", str(out)]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert code == 0
    assert result["door"]["statuses"] == {"201": 8}
    assert result["capacity"]["statuses"] == {"201": 8}
    assert result["replays"]["statuses"] == {"200": 8}
    assert result["database"] == {"presences": 16, "scan_rows": 16, "problems": []}
