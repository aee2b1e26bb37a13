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
    # Public programme pages are kept this long per worker (places left may lag that much;
    # any programme change shows at once). 0 renders every request.
    PAGE_CACHE_SECONDS = 5
    # Longest wait for a row lock (PostgreSQL lock_timeout) or SQLite's write lock (busy
    # timeout); then the request answers 503 with Retry-After instead of hanging.
    LOCK_TIMEOUT_SECONDS = 5
    # Mail delivery: "file" writes .eml files into MAIL_FILE_DIR (instance/mail by default);
    # "smtp" sends through MAIL_SERVER.
    MAIL_BACKEND = "file"
    MAIL_FILE_DIR: str | None = None
    MAIL_SENDER = "symposium <noreply@symposium.localhost>"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USE_STARTTLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10
    # A temporary failure is retried after MAIL_RETRY_SECONDS * 2**(attempt-1), at most
    # MAIL_RETRY_MAX_SECONDS; after MAIL_MAX_ATTEMPTS attempts the message is marked failed.
    MAIL_MAX_ATTEMPTS = 8
    MAIL_RETRY_SECONDS = 60
    MAIL_RETRY_MAX_SECONDS = 6 * 3600
    # How long a claimed message is reserved for the worker that is sending it.
    MAIL_LEASE_SECONDS = 300
    # Flask-Limiter: in memory by default; e.g. "redis://127.0.0.1:6379" with several workers.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    REGISTRATION_RATE_LIMIT = "10 per minute;100 per hour"
    LOGIN_RATE_LIMIT = "5 per minute;30 per hour"
    SECURE_COOKIES: bool | None = None  # None: secure unless debugging or testing
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SAMESITE = "Lax"


def normalise_database_url(url: str) -> str:
    """Map the usual PostgreSQL spellings onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(instance_path, "symposium.sqlite3")


ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "BASE_URL",
    "MAIL_BACKEND",
    "MAIL_SENDER",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
)
