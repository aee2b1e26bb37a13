"""Shared harness: throw-away PostgreSQL databases, gunicorn, the load generator, reporting.

Everything here talks to loopback addresses only, and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-secret-key-not-for-production"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cores() -> int:
    """What ``nproc`` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def memory() -> str:
    """Total memory, like ``free -h`` shows it."""
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return f"{kib / 1024 / 1024:.1f} GiB"


# --------------------------------------------------------------------------- PostgreSQL


def pg_unreachable(url: str = PG_URL) -> str | None:
    """None when the server answers, else why not (for skip messages)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is an app dependency
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"PostgreSQL at {urlsplit(url).netloc} is not reachable: {first}"
    return None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def sqlalchemy_url(dsn: str) -> str:
    from symposium.config import normalise_database_url

    return normalise_database_url(dsn)


@contextlib.contextmanager
def fresh_database(tag: str, admin_url: str = PG_URL) -> Iterator[str]:
    """Create ``symposium_bench_<pid>_<tag>``, yield its libpq URL, drop it afterwards."""
    import psycopg
    from psycopg import sql

    name = f"symposium_bench_{os.getpid()}_{tag}"
    ident = sql.Identifier(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def app_config(dsn: str) -> dict[str, Any]:
    return {
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": sqlalchemy_url(dsn),
        # In-process requests come from the test client's Host, localhost (TRUSTED_HOSTS).
        "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
    }


def prepare_database(dsn: str, event_files: Sequence[Path], instance_dir: str) -> None:
    """Build the schema with the migrations, load the event files, then VACUUM ANALYZE.

    The server runs with autovacuum off, so without the explicit ANALYZE the planner would
    work from no statistics at all. A SQLite URL (``bench.documents --sqlite``) gets the
    schema and events only: it needs no psycopg.
    """
    import logging

    from flask_migrate import upgrade

    from symposium import clock, create_app
    from symposium.extensions import db
    from symposium.services.programme.event_loading import load_event_file

    app = create_app(app_config(dsn), instance_path=instance_dir)
    with app.app_context():
        logging.disable(logging.INFO)  # the migrations' env.py logs every step at INFO
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        for path in event_files:
            load_event_file(db.session, path, clock.now())
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    if not dsn.startswith("sqlite"):
        vacuum_analyze(dsn)


def count_statements(
    dsn: str, instance_dir: str, method: str, path: str, bodies: Sequence[Any] = (None, None)
) -> int:
    """SQL statements the app sends for one request (in-process, test client, same config).

    The request is made twice (with ``bodies[0]``, then ``bodies[1]``) and the second one is
    counted, so one-off work (the catalogue, first compilation) is left out. BEGIN and
    COMMIT are not counted, nor the pool's pre-ping on checkout.
    """
    from sqlalchemy import event

    from symposium import create_app
    from symposium.extensions import db

    app = create_app({**app_config(dsn), "RATELIMIT_ENABLED": False}, instance_path=instance_dir)
    count = 0

    def counter(*_args: object) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            client = app.test_client()
            client.open(path, method=method, json=bodies[0])
            count = 0
            response = client.open(path, method=method, json=bodies[1])
        finally:
            event.remove(engine, "before_cursor_execute", counter)
            db.session.remove()
            engine.dispose()
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.data[:200]!r}")
    return count


def vacuum_analyze(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------- CPU accounting


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, comm, utime + stime in ticks) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), comm, int(fields[11]) + int(fields[12])


def _all_processes() -> dict[int, tuple[int, str, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                found[int(entry)] = stat
    return found


def _machine_ticks() -> tuple[int, int, int]:
    """(busy, total, stolen by the hypervisor) CPU ticks since boot, all cores."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return sum(values[:8]) - idle, sum(values[:8]), steal


def _machine_busy_ticks() -> tuple[int, int]:
    busy, total, _steal = _machine_ticks()
    return busy, total


def busy_share(seconds: float = 1.0) -> float:
    """Share of all cores busy over the next ``seconds``."""
    busy0, total0 = _machine_busy_ticks()
    time.sleep(seconds)
    busy1, total1 = _machine_busy_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_until_quiet(max_seconds: float, threshold: float = 0.15) -> float:
    """Wait (at most ``max_seconds``) for 2 s with under ``threshold`` of the cores busy.

    This machine may be shared (tests, builds); figures taken while something else runs are
    low. Returns the busy share of the last window; 0 seconds just measures one second.
    """
    if max_seconds <= 0:
        return round(busy_share(1.0), 2)
    deadline = time.monotonic() + max_seconds
    share = busy_share(2.0)
    while share > threshold and time.monotonic() < deadline:
        share = busy_share(2.0)
    if share > threshold:
        print(
            f"warning: the machine was {share:.0%} busy before the run; figures will be low",
            file=sys.stderr,
        )
    return round(share, 2)


class CpuMeter:
    """CPU seconds used by gunicorn (master + workers), PostgreSQL and the whole machine."""

    def __init__(self, gunicorn_pid: int | None):
        self.gunicorn_pid = gunicorn_pid
        self.start: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        procs = _all_processes()
        tree = {self.gunicorn_pid} if self.gunicorn_pid else set()
        changed = True
        while changed:  # bounded: each pass adds at least one pid or stops
            changed = False
            for pid, (ppid, _comm, _ticks) in procs.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        busy, total, steal = _machine_ticks()
        return {
            "gunicorn": sum(procs[p][2] for p in tree if p in procs) / CLK_TCK,
            "postgres": sum(t for _pp, c, t in procs.values() if c == "postgres") / CLK_TCK,
            "machine_steal": steal / CLK_TCK,
            "machine_busy": busy / CLK_TCK,
            "machine_total": total / CLK_TCK,
        }

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._sample()
        self.wall = time.perf_counter() - self.t0
        self.used = {k: end[k] - self.start[k] for k in end}

    def cores_used(self, extra: dict[str, float] | None = None) -> dict[str, float]:
        """Average cores busy per consumer over the measured wall time."""
        wall = max(self.wall, 1e-9)
        used = {k: round(v / wall, 2) for k, v in self.used.items() if not k.startswith("mach")}
        for key, seconds in (extra or {}).items():
            used[key] = round(seconds / wall, 2)
        total = self.used["machine_total"]
        used["machine_busy_share"] = round(self.used["machine_busy"] / total, 2) if total else 0.0
        # CPU the hypervisor gave to other guests: high values make every figure lower.
        used["steal"] = round(self.used["machine_steal"] / wall, 2)
        # Everything else that ran meanwhile (tests, builds): figures with much of it are low.
        ours = sum(v for k, v in used.items() if k not in ("machine_busy_share", "steal"))
        used["other"] = round(max(0.0, self.used["machine_busy"] / wall - ours), 2)
        return used


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn bench.wsgi:app`` on a free loopback port, stopped on exit."""

    def __init__(
        self,
        dsn: str,
        workers: int,
        instance_dir: str,
        static_dir: str | None = None,
        threads: int = 1,
    ):
        self.dsn = dsn
        self.workers = workers
        self.threads = threads
        self.instance_dir = instance_dir
        self.static_dir = static_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in __exit__
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Gunicorn:
        env = {
            **os.environ,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": sqlalchemy_url(self.dsn),
            "BENCH_INSTANCE_PATH": self.instance_dir,
            "PYTHONPATH": str(ROOT),
            "BASE_URL": f"http://127.0.0.1:{self.port}",  # links in mail, as in production
        }
        if self.static_dir:
            env["BENCH_STATIC_DIR"] = self.static_dir
        cmd = [
            sys.executable, "-m", "gunicorn", "bench.wsgi:app",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--backlog", "2048",
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--log-level", "warning",
            "--chdir", str(ROOT),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/api/v1/openapi.json", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {seconds:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
            return json.load(response)

    def get_bytes(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
            return response.read()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


# --------------------------------------------------------------------------- load generator


def run_load(spec: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """Run ``bench.loadgen`` as its own process (never inside gunicorn) and return its result."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
            timeout=timeout,
        )
        return json.loads(out_path.read_text())


class Profiler:
    """py-spy sampling every gunicorn process while the load runs (``--profile``).

    Mode ``cpu`` keeps only samples of a worker holding the GIL, i.e. running Python (or C
    called from it) rather than waiting for PostgreSQL or a client: where the CPU goes. Mode
    ``wall`` keeps every non-idle sample, waits included: where a request's time goes.
    """

    def __init__(self, pid: int, out: str | None, mode: str = "cpu", rate: int = 100):
        self.pid = pid
        self.out = out
        self.mode = mode
        self.rate = rate
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.out:
            spy = Path(sys.executable).with_name("py-spy")
            cmd = [
                str(spy) if spy.exists() else "py-spy", "record", "--pid", str(self.pid),
                "--subprocesses", "--nonblocking", "--rate", str(self.rate),
                "--format", "raw", "--output", self.out, "--duration", "600",
            ]  # fmt: skip
            if self.mode == "cpu":
                cmd.append("--gil")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)  # let it attach to every worker before the load starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


CATEGORIES = (  # (label, substrings of the file path), first match wins
    ("waiting on PostgreSQL (psycopg)", ("/psycopg/", "/psycopg_binary/")),
    ("SQLAlchemy ORM and Core", ("/sqlalchemy/",)),
    ("Jinja2 templates", ("/jinja2/", "/markupsafe/", "/templates/", ".html", ".txt", ".ics")),
    ("Babel / translations", ("/babel/", "/flask_babel/")),
    ("Flask / Werkzeug", ("/flask/", "/werkzeug/", "/flask_", "/limits/")),
    ("gunicorn (HTTP, sockets)", ("/gunicorn/",)),
    ("e-mail validation", ("/email_validator/", "/dns/", "/idna/")),
    ("symposium (app code)", ("/symposium/",)),
    ("Python standard library", ("/lib/python3",)),
)


def summarise_profile(path: str, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Top costs in a py-spy ``raw`` file (collapsed stacks), as % of the samples kept.

    Idle samples (a worker waiting in ``accept``/``select``) are left out. In ``wall`` mode
    waiting for PostgreSQL's answer counts: it is time a sync worker cannot serve anyone else.
    ``category``: where the innermost frame is (its library). ``self``: innermost functions.
    ``app``: inclusive time of the app's own functions and templates.
    """
    categories: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    app: Counter[str] = Counter()
    total = 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
            if not frames or _idle(frames[-1]):
                continue
            n = int(count)
            total += n
            innermost = _file_of(frames[-1])
            label = next(
                (name for name, parts in CATEGORIES if any(p in innermost for p in parts)),
                "other",
            )
            categories[label] += n
            self_time[_frame_name(frames[-1])] += n
            for name in {_frame_name(f) for f in frames if _is_app(f)}:
                app[name] += n
    share = 100.0 / total if total else 0.0
    return {
        "busy_samples": [("samples", float(total))],
        "category": [(k, round(v * share, 1)) for k, v in categories.most_common()],
        "self": [(k, round(v * share, 1)) for k, v in self_time.most_common(top)],
        "app": [(k, round(v * share, 1)) for k, v in app.most_common(top)],
    }


def _file_of(frame: str) -> str:
    """The frame's file with a leading slash (py-spy shortens site-packages paths)."""
    return "/" + frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0].lstrip("/")


def _frame_name(frame: str) -> str:
    """``function (path/to/file.py:123)`` -> ``function (to/file.py)``."""
    name = frame.partition(" (")[0]
    parts = Path(_file_of(frame)).parts
    return f"{name} ({'/'.join(parts[-2:]).lstrip('/')})"


def _idle(frame: str) -> bool:
    """A sync worker with nothing to do sits in select() (gunicorn's wait) or accept()."""
    return frame.startswith(("select (", "accept (", "poll (")) or (
        "/gunicorn/" in _file_of(frame) and frame.startswith(("wait (", "sleep ("))
    )


def _is_app(frame: str) -> bool:
    where = _file_of(frame)
    return "/symposium/" in where or where.endswith((".html", ".txt", ".ics"))


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1),
    }


def print_table(title: str, rows: Sequence[tuple[str, object, str]]) -> None:
    """Print ``figure | value | note`` rows as an aligned table."""
    cells = [(str(a), _fmt(b), str(c)) for a, b, c in rows]
    w1 = max(len(r[0]) for r in cells)
    w2 = max(len(r[1]) for r in cells)
    print(f"\n{title}\n" + "-" * min(100, len(title)))
    for name, value, note in cells:
        print(f"{name:<{w1}}  {value:>{w2}}  {note}".rstrip())
    sys.stdout.flush()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        print(f"\nJSON written to {path}")


def machine() -> dict[str, Any]:
    return {"cores": cores(), "memory": memory(), "python": sys.version.split()[0]}


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each measurement wait up to this long for the machine to be idle",
    )
    parser.add_argument(
        "--pg-url",
        default=PG_URL,
        help="maintenance database to create the throw-away database from "
        "(default: %(default)s, or $BENCH_PG_URL)",
    )
