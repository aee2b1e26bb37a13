"""PostgreSQL restarting under load: clear 503s meanwhile, recovery by itself, nothing lost.

The test brings its own cluster (initdb into a temporary folder, a free port; as the
``postgres`` user when run as root), so it runs in both suite runs, whichever database the
rest of the suite uses. gunicorn serves the app on it with its production settings.

1. A burst of keyed API registrations with a restart (``pg_ctl restart -m fast``, which ends
   every connection) in the middle: each answer is a 201 or a 503 with Retry-After and the
   code ``database_unavailable``, never a 500, never a hang.
2. The server stopped: a page, the registration form and the API answer 503 with
   Retry-After (the page in Dutch, the API with its stable code), at once.
3. The server started again, no one touching the app: the next requests are answered, and
   every request that got a 503, retried with its key, is answered 201; every 201 is in the
   database.
4. A restart while the app is idle: every pooled connection dies with it, yet the next
   requests are all answered (``pool_pre_ping`` tests each connection on checkout and
   replaces a dead one unseen; without it each worker's first request would get a 503).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session as DbSession

from bench import common, workload
from tests.faults import harness

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        harness.cluster_unavailable() is not None, reason=str(harness.cluster_unavailable())
    ),
]

WORKERS = 2
CLIENTS = 4
REGISTRATIONS = 40
RESTART_AFTER = 8  # answers before the restart begins
SLUG = workload.SLUG


def unavailable(answer: harness.Answer) -> bool:
    """A clear "come back later": 503, Retry-After, and the API's stable code."""
    return (
        answer.status == 503
        and int(answer.headers.get("Retry-After", "0")) > 0
        and answer.json()["error"]["code"] == "database_unavailable"
    )


def statuses(base_url: str) -> list[int]:
    """Enough requests in a row that every worker answers some of them."""
    path = f"/api/v1/events/{SLUG}"
    return [harness.request(base_url, "GET", path).status for _ in range(3 * WORKERS)]


def test_restart_under_load_gives_503s_then_recovers_losing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = workload.Shape(rounds=2, workshops=4, places=25)
    people = workload.people(REGISTRATIONS + 1, 5, shape)
    event_file = tmp_path / "event.toml"
    event_file.write_text(workload.event_toml(shape, now=datetime.now(UTC)))
    # Every page from the database: a cached programme page would not show the outage.
    monkeypatch.setenv("PAGE_CACHE_SECONDS", "0")
    with (
        harness.Cluster() as cluster,
        cluster.database("restart") as dsn,
    ):
        common.prepare_database(dsn, [event_file], str(tmp_path))
        with harness.gunicorn(dsn, WORKERS, str(tmp_path)) as server:
            ids = {s["key"]: s["id"] for s in server.get_json(f"/api/v1/events/{SLUG}")["sessions"]}
            bodies = {f"restart-key-{p.n}": p.body(ids) for p in people}
            burst_keys = list(bodies)[:REGISTRATIONS]

            # 1. The burst, with a restart in the middle of it.
            answers: dict[str, harness.Answer] = {}
            restart = threading.Thread(target=cluster.restart)
            with ThreadPoolExecutor(CLIENTS) as pool:
                futures = {
                    pool.submit(harness.register, server.base_url, SLUG, bodies[k], k): k
                    for k in burst_keys
                }
                for future in as_completed(futures):
                    answers[futures[future]] = future.result()
                    if len(answers) == RESTART_AFTER:
                        restart.start()
            restart.join(60)
            assert not restart.is_alive()
            print("answers in the burst:", Counter(a.status for a in answers.values()))
            wrong = [(a.status, a.body[:300]) for a in answers.values()
                     if a.status != 201 and not unavailable(a)]  # fmt: skip
            assert wrong == []

            # 2. The server down: every kind of request says so at once.
            cluster.stop()
            page = harness.request(server.base_url, "GET", f"/events/{SLUG}/")
            form = harness.request(server.base_url, "GET", f"/events/{SLUG}/register")
            for answer in (page, form):
                assert answer.status == 503 and int(answer.headers["Retry-After"]) > 0
                assert answer.headers["Content-Type"].startswith("text/html")
                assert "Even niet bereikbaar" in answer.body.decode()
            assert unavailable(harness.request(server.base_url, "GET", f"/api/v1/events/{SLUG}"))
            late_key = list(bodies)[-1]
            late = harness.register(server.base_url, SLUG, bodies[late_key], late_key)
            assert unavailable(late)
            answers[late_key] = late

            # 3. Back, with nobody touching the app.
            cluster.start()
            assert statuses(server.base_url) == [200] * 3 * WORKERS

            # 4. A restart while idle: every pooled connection dies, and nobody notices.
            cluster.restart()
            assert statuses(server.base_url) == [200] * 3 * WORKERS

            first = {
                k: a.json()["registration"]["id"] for k, a in answers.items() if a.status == 201
            }
            again = {}
            for key, body in bodies.items():
                answer = harness.register(server.base_url, SLUG, body, key)
                assert answer.status == 201, (key, answers[key].status, answer.status, answer.body)
                again[key] = answer.json()["registration"]["id"]

        engine = create_engine(common.sqlalchemy_url(dsn))
        try:
            with DbSession(engine) as db:
                assert harness.half_written(db, SLUG) == []
                in_db = harness.registration_ids(db, SLUG)
        finally:
            engine.dispose()
    assert set(first.values()) <= set(in_db), "a 201 answered but not in the database"
    assert all(again[k] == first[k] for k in first), "a retry made a second registration"
    assert sorted(again.values()) == sorted(in_db), "one registration per key, no more"
