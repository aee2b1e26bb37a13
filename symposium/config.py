"""Configuration: defaults here, then ``instance/config.py``, then environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent

LANGUAGES = ("nl", "en")


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


class Defaults:
    SECRET_KEY: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    LANGUAGES = LANGUAGES
    # Callable returning an aware UTC datetime; tests inject a fixed clock here.
    CLOCK = None
    # Used for links in mail written outside a request (CLI, workers).
    BASE_URL = "http://127.0.0.1:5000"
    MAIL_DOMAIN = "symposium.localhost"
    # Flask-Limiter: in memory by default; e.g. "redis://127.0.0.1:6379" with several workers.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    REGISTRATION_RATE_LIMIT = "10 per minute;100 per hour"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"


def normalise_database_url(url: str) -> str:
    """Map the usual PostgreSQL spellings onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(instance_path, "symposium.sqlite3")


ENV_KEYS = ("SECRET_KEY", "DATABASE_URL")
