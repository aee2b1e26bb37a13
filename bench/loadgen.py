"""The load generator: its own process, asyncio + aiohttp (or httpx), a closed loop of clients.

``python -m bench.loadgen SPEC.json OUT.json``. The spec names the base URL (a loopback
address), the number of concurrent clients and either an explicit list of requests or one
request repeated ``count`` times; optional ``warmup`` requests run first and are not
measured. Closed loop (the default): each client sends its next request as soon as its
previous answer is read, so at most ``concurrency`` requests are in flight and the mean
latency is concurrency / throughput. Open loop (``rate``): requests are sent at that rate,
at most ``concurrency`` at a time, latency counted from when each was due. The run is
bounded by the request count and by ``max_seconds``; requests not sent before that
deadline are counted as ``not_sent``. Optional ``headers`` go with every request (a door
token's ``Authorization``).

aiohttp is the default: on this machine httpx used a whole core for about 600 requests/s,
aiohttp half of one for 1,500. uvloop, when installed, is used as the event loop (about a
quarter more requests/s than asyncio's own).

The result: wall time and CPU time of the measured phase (so the harness can show that this
process was not the bottleneck), and per request ``[status, latency_ms, error_code]`` where
status 0 means the connection failed and error_code is the API's ``error.code`` (or the
exception's name).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Request = tuple[str, str, bytes | None]  # method, path, JSON body


def _requests(spec: dict[str, Any], key: str) -> list[Request]:
    value = spec.get(key) or []
    if isinstance(value, dict):  # {"method", "path", "count"[, "json"]}
        body = json.dumps(value["json"]).encode() if "json" in value else None
        return [(value["method"], value["path"], body)] * int(value["count"])
    return [
        (r["method"], r["path"], json.dumps(r["json"]).encode() if "json" in r else None)
        for r in value
    ]


def _error_code(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


class AiohttpClient:
    def __init__(self, concurrency: int, timeout: float, headers: dict[str, str] | None = None):
        import aiohttp

        self.aiohttp = aiohttp
        self.headers = headers or {}
        # gunicorn's sync workers close every connection, so there is nothing to keep alive.
        connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout),
            skip_auto_headers=("User-Agent",),
        )

    async def send(self, url: str, method: str, body: bytes | None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, url, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


class HttpxClient:
    def __init__(self, concurrency: int, timeout: float, headers: dict[str, str] | None = None):
        import httpx

        self.headers = headers or {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
        self.client = httpx.AsyncClient(limits=limits, timeout=timeout)

    async def send(self, url: str, method: str, body: bytes | None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = await self.client.request(method, url, content=body, headers=headers)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


CLIENTS = {"aiohttp": AiohttpClient, "httpx": HttpxClient}


def make_client(
    name: str, concurrency: int, timeout: float, headers: dict[str, str] | None = None
) -> Any:
    if name == "auto":
        try:
            import aiohttp  # noqa: F401

            name = "aiohttp"
        except ImportError:
            name = "httpx"
    if name not in CLIENTS:
        raise SystemExit(f"unknown client {name!r}; one of {', '.join(CLIENTS)}")
    return CLIENTS[name](concurrency, timeout, headers)


async def _phase(
    client: Any,
    base: str,
    requests: list[Request],
    concurrency: int,
    deadline: float,
) -> tuple[list[list[Any]], int]:
    results: list[list[Any]] = [[]] * len(requests)
    cursor = iter(range(len(requests)))
    sent = 0

    async def worker() -> None:
        nonlocal sent
        for i in cursor:  # shared iterator: each request is taken by exactly one client
            if time.monotonic() > deadline:
                return
            method, path, body = requests[i]
            sent += 1
            start = time.perf_counter()
            try:
                status, content = await client.send(base + path, method, body)
                code = _error_code(status, content)
            except Exception as exc:  # a failed connection is a result, not a crash
                status, code = 0, type(exc).__name__
            results[i] = [status, round((time.perf_counter() - start) * 1000, 3), code]

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)) or 1)))
    return [r for r in results if r], len(requests) - sent


async def _open_phase(
    client: Any,
    base: str,
    requests: list[Request],
    concurrency: int,
    rate: float,
    deadline: float,
) -> tuple[list[list[Any]], int]:
    """Open loop: request i is due at i / rate seconds, whatever the answers before it.

    At most ``concurrency`` are in flight; a request waiting for a free slot is late, and
    its latency counts from when it was due (no coordinated omission).
    """
    slots = asyncio.Semaphore(concurrency)
    results: list[list[Any]] = [[]] * len(requests)
    t0 = time.perf_counter()
    not_sent = 0

    async def one(i: int) -> None:
        nonlocal not_sent
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        async with slots:
            if time.monotonic() > deadline:
                not_sent += 1
                return
            method, path, body = requests[i]
            try:
                status, content = await client.send(base + path, method, body)
                code = _error_code(status, content)
            except Exception as exc:
                status, code = 0, type(exc).__name__
            results[i] = [status, round((time.perf_counter() - due) * 1000, 3), code]

    await asyncio.gather(*(one(i) for i in range(len(requests))))
    return [r for r in results if r], not_sent


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    base = spec["base_url"].rstrip("/")
    host = urlsplit(base).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit(f"refusing to load {host!r}: loopback addresses only")
    concurrency = int(spec["concurrency"])
    timeout = float(spec.get("timeout", 60))
    client = make_client(
        spec.get("client", "auto"), max(concurrency, 1), timeout, spec.get("headers")
    )
    try:
        warmup = _requests(spec, "warmup")
        if warmup:
            deadline = time.monotonic() + 60
            await _phase(client, base, warmup, int(spec.get("warmup_concurrency", 4)), deadline)
        measured = _requests(spec, "requests")
        deadline = time.monotonic() + float(spec.get("max_seconds", 600))
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        if spec.get("rate"):
            results, not_sent = await _open_phase(
                client, base, measured, concurrency, float(spec["rate"]), deadline
            )
        else:
            results, not_sent = await _phase(client, base, measured, concurrency, deadline)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        await client.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "client": type(client).__name__.removesuffix("Client").lower(),
        "concurrency": concurrency,
        "wall": wall,
        "cpu": cpu,
        "results": results,
        "not_sent": not_sent,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.loadgen SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    try:
        import uvloop  # optional: a faster event loop, about a quarter more requests/s
    except ImportError:
        uvloop = None
    if uvloop is not None and spec.get("uvloop", True):
        result = uvloop.run(run(spec))
        result["event_loop"] = "uvloop"
    else:
        result = asyncio.run(run(spec))
        result["event_loop"] = "asyncio"
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
