"""The Idempotency-Key service on its own: keys, replays, refusals and a real concurrent duplicate.

The API's use of it (registrations) is tested end to end in tests/api/test_api.py; these tests
hold for any endpoint that reuses the service. Each request gets its own database session, as
each HTTP request would.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session as DbSession

from symposium.models import AuditEntry, IdempotencyKey
from symposium.services.core import idempotency
from symposium.services.core.locking import begin_write

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TIMEOUT = 60  # seconds; reached only when something hangs
SCOPE = "test:1"
BODY = b'{"name": "Ann"}'
ANSWER = {"thing": {"id": 1, "note": "created"}}


@pytest.fixture
def sessions(db) -> Iterator[list[DbSession]]:  # type: ignore[no-untyped-def]
    """A factory's list: every session made in a test is closed after it."""
    made: list[DbSession] = []
    yield made
    for session in made:
        session.close()


@pytest.fixture
def new_session(db, sessions):  # type: ignore[no-untyped-def]
    engine = db.engine  # read here: the threads have no app context

    def make() -> DbSession:
        session = DbSession(engine)
        sessions.append(session)
        return session

    return make


def change(session: DbSession, note: str) -> None:
    """What an endpoint changes along with storing its answer: here, one audit entry."""
    begin_write(session)
    session.add(AuditEntry(at=NOW, action="test", note=note))


def count(session: DbSession, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def stored(session: DbSession) -> list[tuple[str, str, int, dict]]:
    return [
        (row.scope, row.key, row.status_code, row.response)
        for row in session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.id))
    ]


# --------------------------------------------------------------------------- the key


@pytest.mark.parametrize("header", [None, "", "   "])
def test_without_a_key_nothing_is_replayed_or_stored(new_session, header) -> None:
    session = new_session()
    request = idempotency.begin(SCOPE, header, BODY)
    assert request.key is None
    assert request.replay(session) is None
    change(session, "no key")
    assert request.save(session, 201, ANSWER, NOW) is None
    session.commit()
    assert stored(session) == []
    assert count(session, AuditEntry) == 1


def test_the_key_is_stripped_and_the_body_fingerprinted() -> None:
    request = idempotency.begin(SCOPE, "  abc-123 ", BODY)
    assert request.key == "abc-123"
    assert request.scope == SCOPE
    assert request.fingerprint == hashlib.sha256(BODY).hexdigest()


def test_a_key_longer_than_the_column_is_refused() -> None:
    assert idempotency.begin(SCOPE, "k" * 200, BODY).key == "k" * 200
    with pytest.raises(idempotency.InvalidKey) as refused:
        idempotency.begin(SCOPE, "k" * 201, BODY)
    assert (refused.value.status, refused.value.code) == (400, "invalid_idempotency_key")


# --------------------------------------------------------------------------- replay


def test_the_stored_answer_is_replayed_to_a_retry(new_session) -> None:
    first = new_session()
    request = idempotency.begin(SCOPE, "abc", BODY)
    assert request.replay(first) is None
    change(first, "first")
    assert request.save(first, 201, ANSWER, NOW) is None
    first.commit()

    retry = new_session()
    again = idempotency.begin(SCOPE, "abc", BODY)
    assert again.replay(retry) == idempotency.StoredResponse(201, ANSWER)
    assert stored(retry) == [(SCOPE, "abc", 201, ANSWER)]
    assert retry.scalars(select(IdempotencyKey.created_at)).one() == NOW


def test_the_answer_is_stored_in_the_changes_transaction(new_session) -> None:
    """Rolled back with the change: a request that failed later did not use up its key."""
    session = new_session()
    request = idempotency.begin(SCOPE, "abc", BODY)
    change(session, "undone")
    assert request.save(session, 201, ANSWER, NOW) is None
    session.rollback()
    assert stored(session) == []
    assert count(session, AuditEntry) == 0
    assert request.replay(session) is None


def test_the_same_key_with_another_body_is_refused(new_session) -> None:
    session = new_session()
    request = idempotency.begin(SCOPE, "abc", BODY)
    change(session, "first")
    request.save(session, 201, ANSWER, NOW)
    session.commit()

    other = idempotency.begin(SCOPE, "abc", b'{"name": "Bob"}')
    with pytest.raises(idempotency.KeyReused) as refused:
        other.replay(new_session())
    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")


def test_keys_are_scoped(new_session) -> None:
    session = new_session()
    idempotency.begin("test:1", "abc", BODY).save(session, 201, ANSWER, NOW)
    session.commit()
    elsewhere = idempotency.begin("test:2", "abc", BODY)
    assert elsewhere.replay(session) is None
    assert elsewhere.save(session, 201, {"other": True}, NOW) is None
    session.commit()
    assert [(scope, key) for scope, key, *_ in stored(session)] == [
        ("test:1", "abc"),
        ("test:2", "abc"),
    ]


# --------------------------------------------------------------------------- concurrency


def race(new_session, second_body: bytes) -> tuple[object, list, int]:  # type: ignore[no-untyped-def]
    """Two requests with one key, in two threads, both past ``replay`` before either stores.

    The first stores and commits only once the second has checked and found nothing; the
    second then makes its change and stores. On PostgreSQL its insert waits for the first's
    uncommitted row, on SQLite its write transaction waits for the first's; either way its
    insert meets the first's committed key. Returns what the second's ``save`` returned (or
    the error it raised), the stored keys and the number of changes left.
    """
    checked = threading.Event()

    def second() -> object:
        session = new_session()
        request = idempotency.begin(SCOPE, "abc", second_body)
        try:
            assert request.replay(session) is None
        finally:
            checked.set()  # a failure here is raised by ``outcome.result`` below
        change(session, "second")
        try:
            return request.save(session, 201, {"second": True}, NOW)
        except idempotency.IdempotencyError as exc:
            return exc
        finally:
            session.close()

    first = new_session()
    request = idempotency.begin(SCOPE, "abc", BODY)
    assert request.replay(first) is None
    change(first, "first")
    assert request.save(first, 201, ANSWER, NOW) is None
    with ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(second)
        assert checked.wait(TIMEOUT)
        first.commit()
        result = outcome.result(TIMEOUT)
    check = new_session()
    notes = check.scalars(select(AuditEntry.note)).all()
    return result, stored(check), notes


def test_a_concurrent_duplicate_gets_the_first_answer_and_changes_nothing(new_session) -> None:
    result, keys, notes = race(new_session, BODY)
    assert result == idempotency.StoredResponse(201, ANSWER)
    assert keys == [(SCOPE, "abc", 201, ANSWER)]
    assert notes == ["first"]  # the duplicate's change was rolled back


def test_a_concurrent_request_with_another_body_is_refused(new_session) -> None:
    result, keys, notes = race(new_session, b'{"name": "Bob"}')
    assert isinstance(result, idempotency.KeyReused)
    assert keys == [(SCOPE, "abc", 201, ANSWER)]
    assert notes == ["first"]


def test_a_winner_whose_answer_is_gone_is_a_conflict(new_session, db) -> None:  # type: ignore[no-untyped-def]
    """The insert failed on a key whose row was deleted before it could be read again."""
    engine = db.engine
    winner = new_session()
    idempotency.begin(SCOPE, "abc", BODY).save(winner, 201, ANSWER, NOW)
    winner.commit()

    session = new_session()

    @event.listens_for(session, "after_rollback")
    def remove_winner(_session: DbSession) -> None:
        with engine.begin() as conn:
            conn.execute(delete(IdempotencyKey))

    request = idempotency.begin(SCOPE, "abc", BODY)
    change(session, "loser")
    with pytest.raises(idempotency.InProgress) as refused:
        request.save(session, 201, {"loser": True}, NOW)
    assert (refused.value.status, refused.value.code) == (409, "idempotency_conflict")
    assert count(session, AuditEntry) == 0


def test_an_error_in_the_change_itself_is_not_taken_for_a_duplicate(new_session) -> None:
    """The change is flushed before the key: its own integrity error reaches the caller."""
    session = new_session()
    request = idempotency.begin(SCOPE, "abc", BODY)
    begin_write(session)
    session.add(AuditEntry(at=NOW, action=None))  # NOT NULL
    with pytest.raises(Exception) as failed:
        request.save(session, 201, ANSWER, NOW)
    assert not isinstance(failed.value, idempotency.IdempotencyError)
    session.rollback()
    assert stored(session) == []
