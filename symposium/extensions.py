"""Flask extensions, created unbound so blueprints and services can import them."""

import sqlite3

from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from symposium.models.base import Base
from symposium.services.core.locking import Busy, is_lock_timeout

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = _l("Please sign in to see this page.")
# The message is flashed (kept in the session cookie) as text in the visitor's language.
login_manager.localize_callback = str


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: object, _record: object) -> None:
    """Per-connection SQLite settings.

    Foreign keys (and so ON DELETE CASCADE) are off unless asked for. Python's sqlite3 module
    is told to leave transactions alone so that ``_sqlite_begin`` decides how they begin. How
    long a connection waits for the write lock is its ``timeout`` (``create_app`` passes
    LOCK_TIMEOUT_SECONDS), not set here.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    """Begin SQLite transactions ourselves: IMMEDIATE when a write transaction was asked for.

    An immediate transaction takes the database's write lock up front, which is SQLite's
    equivalent of locking the rows that guard a capacity (see ``services.core.locking``).
    """
    if conn.dialect.name == "sqlite":
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@event.listens_for(Engine, "handle_error")
def _lock_timeout(context: ExceptionContext) -> None:
    """Raise one exception, ``Busy``, for either database's "waited too long for a lock".

    Parameters are left out of its message: they hold names and e-mail addresses.
    """
    if is_lock_timeout(context.original_exception):
        raise Busy(
            context.statement, context.parameters, context.original_exception, hide_parameters=True
        )
