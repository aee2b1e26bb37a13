"""A gunicorn worker SIGKILLed in the middle of a burst of API registrations.

Several sync workers take a burst of registrations, each with its own Idempotency-Key; two
workers are killed mid-burst (gunicorn starts new ones), cutting whatever they were doing,
perhaps half-way through a transaction. Then: nothing is half written, every 201 is in the
database, and each request that was cut, retried with its key, is answered 201 with the one
registration it made (or makes now), never a second one. Runs on the suite's database.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import workload
from tests.faults import harness

pytestmark = pytest.mark.slow

WORKERS = 3
CLIENTS = 6
REGISTRATIONS = 60
KILL_AFTER = (12, 30)  # answers received before each SIGKILL


def test_sigkilled_workers_lose_and_half_write_nothing(
    app, db, migrated_url: str, tmp_path: Path
) -> None:
    shape = workload.Shape(rounds=2, workshops=4, places=25)
    event_file = tmp_path / "event.toml"
    # The server runs on the real clock, not the suite's frozen one: open for registration now.
    event_file.write_text(workload.event_toml(shape, now=datetime.now(UTC)))
    result = app.test_cli_runner().invoke(args=["load-event", str(event_file)])
    assert result.exit_code == 0, result.output
    people = workload.people(REGISTRATIONS, 12, shape)
    slug = workload.SLUG

    with harness.gunicorn(migrated_url, WORKERS, str(tmp_path)) as server:
        ids = {s["key"]: s["id"] for s in server.get_json(f"/api/v1/events/{slug}")["sessions"]}
        bodies = {f"fault-key-{p.n}": p.body(ids) for p in people}
        answers: dict[str, harness.Answer] = {}
        killed: list[int] = []
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = {
                pool.submit(harness.register, server.base_url, slug, body, key): key
                for key, body in bodies.items()
            }
            for future in as_completed(futures):
                answers[futures[future]] = future.result()
                if len(answers) in KILL_AFTER:
                    victim = harness.worker_pids(server.pid)[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
        statuses = sorted({a.status for a in answers.values()})
        assert set(statuses) <= {0, 201, 503}, [
            (a.status, a.body[:200]) for a in answers.values() if a.status not in (0, 201, 503)
        ]
        assert len(killed) == 2
        print("answers in the burst:", Counter(a.status for a in answers.values()))
        harness.wait_until(
            lambda: (
                len(harness.worker_pids(server.pid)) == WORKERS
                and not set(killed) & set(harness.worker_pids(server.pid))
            ),
            60,
            "gunicorn to replace the killed workers",
        )
        first = {k: a.json()["registration"]["id"] for k, a in answers.items() if a.status == 201}

        # Every request again with its key: the cut ones (0) and the refused (503) now make
        # their registration; those answered 201 get the same registration back.
        again = {}
        for key, body in bodies.items():
            answer = harness.register(server.base_url, slug, body, key)
            for _ in range(10):  # a 503 says "retry": do, as a client would
                if answer.status != 503:
                    break
                time.sleep(0.2)
                answer = harness.register(server.base_url, slug, body, key)
            assert answer.status == 201, (key, answers[key].status, answer.status, answer.body)
            again[key] = answer.json()["registration"]["id"]

    db.session.rollback()  # see what the server committed
    assert harness.half_written(db.session, slug) == []
    in_db = harness.registration_ids(db.session, slug)
    assert sorted(in_db) == sorted(set(in_db))
    assert set(first.values()) <= set(in_db), "a 201 answered but not in the database"
    assert all(again[k] == first[k] for k in first), "a retry made a second registration"
    assert sorted(again.values()) == sorted(in_db), "one registration per key, no more"
