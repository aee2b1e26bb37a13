"""Capacity under real concurrency: many workers race for the last places of a session.

Nothing is mocked. On PostgreSQL the workers are separate processes, each with its own app and
engine as under gunicorn; on SQLite they are threads, each with its own app context and so its
own session. Barriers make the workers arrive together, and the assertions are on the final
state only, so nothing depends on timing.

In worker processes ``enrolment.lock_capacity`` (the name as registration/lifecycle.py imported
it) is wrapped only to *gate* it: every worker waits at a barrier before it takes the lock, so
each round of registrations reaches the lock at the same moment. The oversell test runs the same
harness with the lock left out, which shows that the race the lock closes is real.

The interleaving tests pause one request right before its write transaction (a gate in front of
``enrolment.begin_write``) while another request runs and commits: what the first request
checked before its transaction began may then no longer hold.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import func, select

from symposium import clock as app_clock
from symposium.extensions import db as _db
from symposium.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Event,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Session,
)
from symposium.services.registration import lifecycle as enrolment
from symposium.services.registration.lifecycle import EnrolmentError, RegistrationInput
from tests.conftest import FrozenClock, make_app, registration_data

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the conftest clock: registration is open
TIMEOUT = 60  # seconds; reached only when something hangs (a broken barrier fails at once)
PROCESSES = 4
THREADS = 8

# Forkserver: workers start from a clean server process (no engine, locks or threads inherited
# from pytest) that has imported the app's modules already, so starting one is cheap.
CTX = multiprocessing.get_context("forkserver")
CTX.set_forkserver_preload([__name__])

# ("register", person, profession, session_id) | ("cancel_registration", person)
# | ("cancel_enrolment", person) | ("change_session", person, session_id) | ("wait", None)
Op = tuple[Any, ...]


def email(person: int) -> str:
    return registration_data(person)["email"]


def apply_ops(event_id: int, ops: Iterable[Op], wait: Callable[[], Any] | None = None) -> list:
    """Do ``ops`` in the current app context, each in one transaction as a request would.

    Returns (op, person, outcome) per operation: ``created`` for a registration, the service's
    return value for a cancel, the new status for a switch, or the code of a refusal.
    """
    db = _db.session
    secret = current_app.config["SECRET_KEY"]
    results = []
    for op, person, *args in ops:
        if op == "wait":
            assert wait is not None
            wait()
            continue
        event = db.get(Event, event_id)
        now = app_clock.now()
        try:
            if op == "register":
                profession, session_id = args
                data = RegistrationInput(
                    **registration_data(person, profession),
                    sessions=[] if session_id is None else [session_id],
                )
                outcome: Any = enrolment.register(db, event, data, now, secret).created
            else:
                # Like the manage link: find the registration first, then act on it.
                registration = db.scalars(
                    select(Registration).where(
                        Registration.event_id == event_id, Registration.email == email(person)
                    )
                ).one()
                if op == "cancel_registration":
                    outcome = enrolment.cancel_registration(db, registration, now)
                elif op == "cancel_enrolment":  # the form posts the enrolment's id
                    enrolment_id = db.scalar(
                        select(Enrolment.id).where(
                            Enrolment.registration_id == registration.id,
                            Enrolment.status != EnrolmentStatus.CANCELLED,
                        )
                    )
                    outcome = enrolment.cancel_enrolment(db, registration, enrolment_id, now)
                else:
                    (session_id,) = args
                    changed = enrolment.change_session(db, registration, session_id, now)
                    outcome = changed.status
        except EnrolmentError as exc:
            db.rollback()
            outcome = exc.code
        else:
            db.commit()
        results.append((op, person, outcome))
    return results


# --------------------------------------------------------------------------- worker processes

_worker: dict[str, Any] = {}


def _init_worker(url: str, barrier: Any, locking: bool) -> None:
    """Process initialiser: an app of its own, and the gate in front of the capacity lock."""
    _worker.update(
        app=make_app(url, CLOCK=FrozenClock(NOW)),
        barrier=barrier,
        lock_waits=0,
        take=enrolment.lock_capacity if locking else capacities_without_lock,
    )
    enrolment.lock_capacity = _gated_lock_capacity


def capacities_without_lock(db, event, session_ids):  # type: ignore[no-untyped-def]
    """What lock_capacity returns, from a plain SELECT: no FOR UPDATE, nobody waits."""
    ids = sorted(set(session_ids))
    return dict(db.execute(select(Session.id, Session.capacity).where(Session.id.in_(ids))).all())


def _gated_lock_capacity(db, event, session_ids):  # type: ignore[no-untyped-def]
    for _ in range(_worker["lock_waits"]):
        _worker["barrier"].wait(TIMEOUT)  # every worker has done its reads; now all at once
    return _worker["take"](db, event, session_ids)


def _run_in_worker(event_id: int, ops: list[Op], lock_waits: int) -> list:
    app, barrier = _worker["app"], _worker["barrier"]
    _worker["lock_waits"] = lock_waits
    try:
        with app.app_context():
            try:
                return apply_ops(event_id, ops, lambda: barrier.wait(TIMEOUT))
            finally:
                _db.session.remove()
                _db.engine.dispose()
    except BaseException:
        barrier.abort()  # the others fail at once instead of waiting for the timeout
        raise


def run_processes(
    url: str, event_id: int, jobs: list[list[Op]], lock_waits: int = 0, locking: bool = True
) -> list[list]:
    """One process per job. With ``lock_waits`` 1 every call of lock_capacity waits for all
    workers, so then every job must take the lock equally often."""
    barrier = CTX.Barrier(len(jobs))
    with ProcessPoolExecutor(
        max_workers=len(jobs),
        mp_context=CTX,
        initializer=_init_worker,
        initargs=(url, barrier, locking),
    ) as pool:
        futures = [pool.submit(_run_in_worker, event_id, ops, lock_waits) for ops in jobs]
        return [f.result(timeout=TIMEOUT) for f in futures]


# --------------------------------------------------------------------------- threads


def run_threads(app: Flask, event_id: int, jobs: list[list[Op]]) -> list[list]:
    """One thread per job, each with its own app context and so its own session."""
    barrier = threading.Barrier(len(jobs))

    def work(ops: list[Op]) -> list:
        try:
            with app.app_context():
                try:
                    return apply_ops(event_id, ops, lambda: barrier.wait(TIMEOUT))
                finally:
                    _db.session.remove()
        except BaseException:
            barrier.abort()
            raise

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(work, ops) for ops in jobs]
        return [f.result(timeout=TIMEOUT) for f in futures]


@dataclass
class Runner:
    kind: str
    workers: int
    # run(jobs, gate_lock): with gate_lock the processes meet before every lock; without it
    # (and always for threads: on SQLite the barrier cannot sit inside BEGIN IMMEDIATE) the
    # workers start together.
    run: Callable[..., list[list]]


@pytest.fixture(params=["processes", "threads"])
def runner(request, app, migrated_url, small_event) -> Runner:  # type: ignore[no-untyped-def]
    event_id = small_event["event"]
    postgresql = migrated_url.startswith("postgresql")
    if request.param == "processes":
        if not postgresql:
            pytest.skip("worker processes run on PostgreSQL; SQLite is raced by threads")

        def in_processes(jobs: list[list[Op]], gate_lock: bool = True) -> list[list]:
            if gate_lock:
                return run_processes(migrated_url, event_id, jobs, lock_waits=1)
            return run_processes(migrated_url, event_id, [[("wait", None), *j] for j in jobs])

        return Runner("processes", PROCESSES, in_processes)
    if postgresql:
        pytest.skip("PostgreSQL is raced by worker processes; threads race SQLite")

    def in_threads(jobs: list[list[Op]], gate_lock: bool = True) -> list[list]:
        return run_threads(app, event_id, [[("wait", None), *j] for j in jobs])

    return Runner("threads", THREADS, in_threads)


def register_jobs(
    workers: int, total: int, profession: str, session_id: int | None
) -> list[list[Op]]:
    """At least ``total`` registrations, the same number per worker, people 1, 2, …"""
    per_worker = -(-total // workers)
    return [
        [("register", 1 + w + i * workers, profession, session_id) for i in range(per_worker)]
        for w in range(workers)
    ]


def register_in_order(db, event_id: int, people: Iterable[int], session_id: int) -> None:  # type: ignore[no-untyped-def]
    event = db.session.get(Event, event_id)
    for person in people:
        data = RegistrationInput(**registration_data(person), sessions=[session_id])
        enrolment.register(db.session, event, data, NOW, current_app.config["SECRET_KEY"])
        db.session.commit()


def outcomes(results: list[list]) -> list:
    return [outcome for job in results for _op, _person, outcome in job]


# --------------------------------------------------------------------------- state checks


@dataclass
class State:
    rows: list  # every enrolment of one session: id, status, waitlist_position, email

    @property
    def confirmed(self) -> list:
        return [r for r in self.rows if r.status == EnrolmentStatus.CONFIRMED]

    @property
    def waiting(self) -> list:
        waiting = [r for r in self.rows if r.status == EnrolmentStatus.WAITLISTED]
        return sorted(waiting, key=lambda r: (r.waitlist_position, r.id))

    @staticmethod
    def emails(rows: list) -> list[str]:
        return [r.email for r in rows]


def session_state(db, session_id: int) -> State:  # type: ignore[no-untyped-def]
    db.session.rollback()  # a fresh transaction (on SQLite: a fresh snapshot)
    rows = db.session.execute(
        select(Enrolment.id, Enrolment.status, Enrolment.waitlist_position, Registration.email)
        .join(Registration, Enrolment.registration_id == Registration.id)
        .where(Enrolment.session_id == session_id)
        .order_by(Enrolment.id)
    ).all()
    return State(rows)


def assert_queue_is_fair(state: State) -> None:
    """Waiting-list positions are exactly 1..N and follow commit order.

    Enrolment ids are drawn from the sequence inside the locked transaction, so the order of
    the ids is the order in which the transactions held the lock (and committed).
    """
    positions = [r.waitlist_position for r in state.waiting]
    assert positions == list(range(1, len(positions) + 1))
    ids = [r.id for r in state.waiting]
    assert ids == sorted(ids), "waiting-list order differs from commit order"


def mail_kinds(db, person: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.to_address == email(person))
            .order_by(OutboxMessage.id)
        )
    )


def promotions(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = db.session.execute(
        select(Registration.email, EnrolmentChange.reason)
        .join(Enrolment, EnrolmentChange.enrolment_id == Enrolment.id)
        .join(Registration, Enrolment.registration_id == Registration.id)
        .where(EnrolmentChange.reason.startswith("promoted"))
    )
    return sorted(tuple(row) for row in rows)


# --------------------------------------------------------------------------- capacity


def test_capacity_is_never_exceeded(runner, db, small_event) -> None:  # type: ignore[no-untyped-def]
    klein = small_event["klein"]
    jobs = register_jobs(runner.workers, 100, "gz-psycholoog", klein)
    created = outcomes(runner.run(jobs))
    assert len(created) >= 100
    assert all(c is True for c in created)

    state = session_state(db, klein)
    assert len(state.rows) == len(created)  # one enrolment each, none lost
    assert len(state.confirmed) == 10
    assert len(state.waiting) == len(created) - 10
    assert_queue_is_fair(state)
    # The first ten to hold the lock got the places; everyone after them waits.
    assert max(r.id for r in state.confirmed) < min(r.id for r in state.waiting)


def test_profession_quota_is_never_exceeded(runner, db, small_event) -> None:  # type: ignore[no-untyped-def]
    klein = small_event["klein"]
    jobs = register_jobs(runner.workers, 40, "huisarts", klein)
    created = outcomes(runner.run(jobs))
    assert created == [True] * 40

    state = session_state(db, klein)
    assert len(state.confirmed) == 2  # the GP quota is 2, though 8 places stay free
    assert len(state.waiting) == 38
    assert_queue_is_fair(state)
    assert max(r.id for r in state.confirmed) < min(r.id for r in state.waiting)


def test_event_capacity_is_never_exceeded(runner, db, small_event) -> None:  # type: ignore[no-untyped-def]
    """A total for the whole event guards registrations without any session chosen."""
    event = db.session.get(Event, small_event["event"])
    event.capacity = 10
    db.session.commit()
    jobs = register_jobs(runner.workers, 40, "gz-psycholoog", None)  # no session chosen
    created = outcomes(runner.run(jobs))
    assert sorted(created, key=str) == sorted([True] * 10 + ["event_full"] * 30, key=str)
    db.session.rollback()
    active = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.status == RegistrationStatus.ACTIVE)
    )
    assert active == 10


def test_cancellations_racing_registrations_keep_the_session_full(runner, db, small_event) -> None:  # type: ignore[no-untyped-def]
    """10 confirmed (people 1-10) and 10 waiting (11-20); then, all at once: 6 confirmed people
    cancel their registration, the last two on the waiting list (19, 20) cancel their session
    and 20 new people (101-120) register."""
    klein = small_event["klein"]
    register_in_order(db, small_event["event"], range(1, 21), klein)
    before = session_state(db, klein)
    assert before.emails(before.confirmed) == [email(p) for p in range(1, 11)]
    assert before.emails(before.waiting) == [email(p) for p in range(11, 21)]

    cancels = iter([*(("cancel_registration", p) for p in range(1, 7)),
                    ("cancel_enrolment", 19), ("cancel_enrolment", 20)])  # fmt: skip
    ops: list[Op] = []
    for i, person in enumerate(range(101, 121)):
        ops.append(("register", person, "gz-psycholoog", klein))
        if i % 5 in (1, 3):
            ops.append(next(cancels))
    assert next(cancels, None) is None
    jobs = [ops[w::4] for w in range(4)]  # 28 operations, 7 per worker, mixed
    assert all(o is True for o in outcomes(runner.run(jobs, False)))

    state = session_state(db, klein)
    # The freed places went to the front of the waiting list (11-16), never to a newcomer:
    # a cancel promotes in the same transaction, so no free place is ever visible.
    assert sorted(state.emails(state.confirmed)) == sorted(
        email(p) for p in [*range(7, 11), *range(11, 17)]
    )
    assert_queue_is_fair(state)
    waiting = state.emails(state.waiting)
    assert waiting[:2] == [email(17), email(18)]
    assert sorted(waiting[2:]) == sorted(email(p) for p in range(101, 121))

    cancelled_people = [email(p) for p in [*range(1, 7), 19, 20]]
    live_of_cancelled = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .join(Registration, Enrolment.registration_id == Registration.id)
        .where(
            Registration.email.in_(cancelled_people),
            Enrolment.status != EnrolmentStatus.CANCELLED,
        )
    )
    assert live_of_cancelled == 0
    statuses = dict(db.session.execute(select(Registration.email, Registration.status)).all())
    assert {statuses[email(p)] for p in range(1, 7)} == {RegistrationStatus.CANCELLED}
    assert {statuses[email(p)] for p in (19, 20)} == {RegistrationStatus.ACTIVE}

    assert promotions(db) == sorted(
        (email(p), "promoted:registration_cancelled") for p in range(11, 17)
    )
    promoted_mail = db.session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "promoted")
    ).all()
    assert sorted(promoted_mail) == sorted(email(p) for p in range(11, 17))


# --------------------------------------------------------------------------- the race itself


def test_without_the_lock_places_are_oversold(db, migrated_url, small_event) -> None:  # type: ignore[no-untyped-def]
    """test_capacity_is_never_exceeded[processes] with lock_capacity replaced by a plain
    SELECT: the workers count the same free places and all of them take one."""
    if not migrated_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite BEGIN IMMEDIATE serialises writers by itself")
    klein = small_event["klein"]
    jobs = register_jobs(PROCESSES, 100, "gz-psycholoog", klein)
    results = run_processes(migrated_url, small_event["event"], jobs, lock_waits=1, locking=False)
    assert outcomes(results) == [True] * 100

    confirmed = len(session_state(db, klein).confirmed)
    assert confirmed > 10, f"no overbooking without the lock ({confirmed} confirmed)"


# --------------------------------------------------------------------------- interleavings


def run_interleaved(app: Flask, event_id: int, first: Op, second: Op, monkeypatch) -> tuple:  # type: ignore[no-untyped-def]
    """``second`` does its checks and pauses right before its write transaction begins; then
    ``first`` runs and commits; then ``second`` goes on. Returns both outcomes."""
    real_begin_write = enrolment.begin_write
    paused, first_done = threading.Event(), threading.Event()
    gate = threading.local()

    def gated_begin_write(db) -> None:  # type: ignore[no-untyped-def]
        if getattr(gate, "pause", False):
            gate.pause = False
            paused.set()
            assert first_done.wait(TIMEOUT)
        real_begin_write(db)

    monkeypatch.setattr(enrolment, "begin_write", gated_begin_write)

    def run(op: Op, pause: bool) -> Any:
        gate.pause = pause
        try:
            if not pause:
                assert paused.wait(TIMEOUT)
            with app.app_context():
                try:
                    return apply_ops(event_id, [op])[0][2]
                finally:
                    _db.session.remove()
        finally:
            if not pause:
                first_done.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        later = pool.submit(run, second, True)
        earlier = pool.submit(run, first, False)
        return earlier.result(timeout=TIMEOUT), later.result(timeout=TIMEOUT)


def test_double_submitted_registration_creates_one(app, db, small_event, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    op = ("register", 1, "gz-psycholoog", small_event["klein"])
    assert run_interleaved(app, small_event["event"], op, op, monkeypatch) == (True, False)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert len(session_state(db, small_event["klein"]).rows) == 1


def test_double_submitted_session_cancel_frees_one_place(app, db, small_event, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    klein = small_event["klein"]
    register_in_order(db, small_event["event"], range(1, 13), klein)  # 11, 12 wait
    op = ("cancel_enrolment", 1)
    assert run_interleaved(app, small_event["event"], op, op, monkeypatch) == (True, False)
    state = session_state(db, klein)
    assert len(state.confirmed) == 10
    assert state.emails(state.waiting) == [email(12)]
    assert promotions(db) == [(email(11), "promoted:cancelled_by_registrant")]


def test_double_submitted_registration_cancel_is_done_once(  # type: ignore[no-untyped-def]
    app, db, small_event, monkeypatch
) -> None:
    klein = small_event["klein"]
    register_in_order(db, small_event["event"], range(1, 13), klein)
    op = ("cancel_registration", 1)
    assert run_interleaved(app, small_event["event"], op, op, monkeypatch) == (True, False)
    state = session_state(db, klein)
    assert len(state.confirmed) == 10  # the place is freed once either way
    assert promotions(db) == [(email(11), "promoted:registration_cancelled")]
    assert mail_kinds(db, 1) == ["registered", "registration_cancelled"]


def test_switch_racing_a_cancellation_takes_no_place(app, db, small_event, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    klein, psy = small_event["klein"], small_event["psy"]
    register_in_order(db, small_event["event"], [1], klein)
    outcome = run_interleaved(
        app,
        small_event["event"],
        ("cancel_registration", 1),
        ("change_session", 1, psy),
        monkeypatch,
    )
    db.session.rollback()
    live = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.status != EnrolmentStatus.CANCELLED)
    )
    assert (outcome, live) == ((True, "registration_cancelled"), 0)
