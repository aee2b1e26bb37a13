"""Registration limits hold per client across workers, hosts, entrances and proxies.

Two "workers" are two processes (the limiter is one object per process, as under gunicorn),
sharing one Redis under a key prefix of their own that is removed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask, request

from symposium.config import ROOT
from symposium.extensions import db as _db
from symposium.extensions import limiter
from tests.api.test_api import post as api_post
from tests.conftest import FreshContextClient, make_app, registration_data
from tests.registration.test_registration_pages import open_form, person, submit

REDIS_URL = "redis://127.0.0.1:6379"

# One worker process: build the app from the environment, POST to the API, print the codes.
WORKER = """
import json, sys
from symposium import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "test", "RATELIMIT_ENABLED": True,
                  "RATELIMIT_KEY_PREFIX": sys.argv[1]})
client = app.test_client()
codes = [client.post("/api/v1/events/nope/registrations", json={}).status_code
         for _ in range(int(sys.argv[2]))]
print(json.dumps(codes))
"""


def redis_client() -> redis.Redis:
    """The test Redis (a default dependency's client); skipped without a server unless required."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_REDIS"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); REQUIRE_REDIS=1 makes this fail")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis; its keys are deleted afterwards."""
    client = redis_client()
    prefix = f"symposium-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def worker(database_url: str, prefix: str, requests: int, **env: str) -> list[int]:
    """Run one worker process with ``env`` on top of this one's; the status codes it got."""
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGISTRATION_RATE_LIMIT": "3 per day",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER, prefix, str(requests)],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_two_workers_on_one_redis_share_one_limit(migrated_url: str, redis_prefix: str) -> None:
    """With memory:// the second worker would start at zero and answer 404 three times."""
    first = worker(migrated_url, redis_prefix, 2, RATELIMIT_STORAGE_URI=REDIS_URL)
    second = worker(migrated_url, redis_prefix, 2, RATELIMIT_STORAGE_URI=REDIS_URL)
    assert first == [404, 404]  # counted, then refused by the view: no such event
    assert second == [404, 429]  # the third request of this address, whichever worker


def test_without_redis_each_worker_still_limits_and_nothing_fails(migrated_url: str) -> None:
    """Redis away (nothing listens on port 1): counted in memory, no 500, logged."""
    codes = worker(migrated_url, "unused", 4, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    assert codes == [404, 404, 404, 429]


@pytest.fixture
def limited_app(migrated_url: str, clock) -> Iterator[Callable[..., Flask]]:  # type: ignore[no-untyped-def]
    """Apps with rate limiting on (in memory); the shared limiter's switch is put back."""
    was_enabled = limiter.enabled
    built: list[Flask] = []

    def build(limit: str, **config: object) -> Flask:
        app = make_app(
            migrated_url,
            CLOCK=clock,
            RATELIMIT_ENABLED=True,
            REGISTRATION_RATE_LIMIT=limit,
            **config,
        )
        app.test_client_class = FreshContextClient
        built.append(app)
        return app

    yield build
    limiter.enabled = was_enabled
    for app in built:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_the_form_and_the_api_share_one_registration_bucket(
    limited_app: Callable[..., Flask], small_event: dict[str, int]
) -> None:
    """Two per address in total: a third try is refused at either entrance."""
    app = limited_app("2 per day")
    client = app.test_client()
    with app.app_context():
        assert submit(client, open_form(client) | person("1")).status_code == 303
        assert api_post(client, registration_data(2)).status_code == 201
        assert api_post(client, registration_data(3)).status_code == 429
        assert submit(client, open_form(client) | person("4")).status_code == 429


def probe(app: Flask) -> Flask:
    """A route that shows what the app takes the client, scheme and host to be."""
    app.add_url_rule(
        "/_probe",
        "probe",
        lambda: {"client": request.remote_addr, "scheme": request.scheme, "host": request.host},
    )
    return app


PROXY = "10.0.0.2"  # the reverse proxy: every request reaches the app from here


def through_proxy(app: Flask, forwarded_for: str, **headers: str) -> Any:
    """A client behind the proxy; the proxy appended its peer to ``X-Forwarded-For``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    for name, value in headers.items():
        client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return client


def api_hit(client: Any) -> int:
    """One counted registration attempt (the event does not exist, so nothing is written)."""
    return client.post("/api/v1/events/nope/registrations", json={}).status_code


def test_behind_one_proxy_each_client_has_its_own_limit(
    limited_app: Callable[..., Flask],
) -> None:
    app = probe(limited_app("1 per day", TRUSTED_PROXY_COUNT=1))
    anna = through_proxy(app, "203.0.113.7", **{"X-Forwarded-Proto": "https"})
    bram = through_proxy(app, "203.0.113.8")
    assert anna.get("/_probe").get_json() == {
        "client": "203.0.113.7",
        "scheme": "https",
        "host": "localhost",
    }
    assert [api_hit(anna), api_hit(bram)] == [404, 404]  # the proxy's address is not shared
    assert [api_hit(anna), api_hit(bram)] == [429, 429]
    # What a client writes to the left of the proxy's entry is its own say: not trusted.
    forged = through_proxy(app, "198.51.100.1, 203.0.113.7")
    assert api_hit(forged) == 429


def test_behind_a_proxy_the_forwarded_host_is_not_trusted(
    limited_app: Callable[..., Flask],
) -> None:
    """Links are built from the host; a client-chosen X-Forwarded-Host would poison them."""
    app = probe(limited_app("1 per day", TRUSTED_PROXY_COUNT=1))
    client = through_proxy(app, "203.0.113.7", **{"X-Forwarded-Host": "evil.example"})
    assert client.get("/_probe").get_json()["host"] == "localhost"


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_limit(
    limited_app: Callable[..., Flask],
) -> None:
    app = probe(limited_app("1 per day"))  # TRUSTED_PROXY_COUNT = 0, the default
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    codes = []
    for n in range(3):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
        codes.append(api_hit(client))
    assert codes == [404, 429, 429]
    assert client.get("/_probe").get_json() == {
        "client": "203.0.113.7",
        "scheme": "http",
        "host": "localhost",
    }
