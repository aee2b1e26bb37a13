"""Rows inserted with Core statements, handed back as ORM objects without reading them again."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached

_Row = TypeVar("_Row")


def loaded(db: DbSession, cls: type[_Row], **values: object) -> _Row:
    """The ORM object of a row this transaction just inserted with Core, without reading it.

    ``values`` must hold every column. SQLAlchemy's recipe for objects inserted in bulk.
    """
    obj = cls(**values)
    make_transient_to_detached(obj)
    db.add(obj)
    db.info.setdefault(_CORE_ROWS, []).append(obj)
    return obj


_CORE_ROWS = "symposium.rows_inserted_with_core"


@sa_event.listens_for(DbSession, "after_soft_rollback")
def _forget_rolled_back_rows(db: DbSession, previous: SessionTransaction) -> None:
    """Objects made by :func:`loaded` are not 'new' to the ORM, so a rollback would keep them
    as if their rows existed; take them out of the session with their rows."""
    if previous.parent is None:  # the outermost transaction, not a savepoint
        for obj in db.info.pop(_CORE_ROWS, []):
            if obj in db:
                db.expunge(obj)


@sa_event.listens_for(DbSession, "after_commit")
def _keep_committed_rows(db: DbSession) -> None:
    db.info.pop(_CORE_ROWS, None)
