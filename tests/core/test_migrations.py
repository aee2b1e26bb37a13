"""The migrations and the models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from symposium.models import Base


def test_migrations_match_the_models(db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_nothing_and_back(db) -> None:
    db.session.remove()
    downgrade(revision="base")
    assert not inspect(db.engine).has_table("events")
    upgrade()
    assert inspect(db.engine).has_table("events")
