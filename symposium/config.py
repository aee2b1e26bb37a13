"""Configuration: defaults here, then ``instance/config.py``, then environment variables.

Every setting an operator may set is listed in ``SETTINGS``: its environment variable has the
same name, its value is converted to the type of the default, and a value that cannot run
stops start-up with a ``ConfigError`` that names the setting and the value.
"""

from __future__ import annotations

import math
import os
import types
import typing
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import limits

ROOT = Path(__file__).resolve().parent.parent

LANGUAGES = ("nl", "en")


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


class Defaults:
    SECRET_KEY: str | None = None
    # None: SQLite in the instance folder.
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    LANGUAGES = LANGUAGES
    # Callable returning an aware UTC datetime; tests inject a fixed clock here.
    CLOCK = None
    # Used for links in mail written outside a request (CLI, workers).
    BASE_URL = "http://127.0.0.1:5000"
    # Host names the site answers to (Flask refuses others with 400, so a forged Host header
    # cannot reach a page). None: the host of BASE_URL (plus localhost and 127.0.0.1 when
    # debugging or testing); BASE_URL's host is always added. From the environment: a
    # comma-separated list; a name starting with "." also allows its subdomains.
    TRUSTED_HOSTS: list[str] | None = None
    MAIL_DOMAIN = "symposium.localhost"
    # Public programme pages are kept this long per worker (places left may lag that much;
    # any programme change shows at once). 0 renders every request.
    PAGE_CACHE_SECONDS = 5
    # Longest wait for a row lock (PostgreSQL lock_timeout) or SQLite's write lock (busy
    # timeout); then the request answers 503 with Retry-After instead of hanging.
    LOCK_TIMEOUT_SECONDS: float = 5
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
    # Flask-Limiter's counters. memory:// is per worker process, so with 4 workers every limit
    # is 4x what it says; with several workers or hosts use one Redis for all of them.
    RATELIMIT_STORAGE_URI = "memory://"
    # Redis away: count in this worker's memory until it is back, instead of failing requests.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    REGISTRATION_RATE_LIMIT = "10 per minute;100 per hour"
    # Checking certificates by code (page, form and API together), per client address: a
    # register checking a list works at this pace; guessing a 100-bit code does not.
    VERIFICATION_RATE_LIMIT = "30 per minute;300 per hour"
    LOGIN_RATE_LIMIT = "5 per minute;30 per hour"
    # Personal data of an event's registrations is anonymised this many days after the event
    # ends (`flask purge`); register numbers of those who attended stay until
    # ACCREDITATION_RETENTION_DAYS, so attendance can still be entered in PE-online/GAIA.
    RETENTION_DAYS = 90
    ACCREDITATION_RETENTION_DAYS = 120
    # Certificates stay checkable this long after they are issued: registers re-register
    # every five years and may check the certificates of that cycle (about five years).
    CERTIFICATE_RETENTION_DAYS = 1830
    # Largest request body (bytes) of any kind: urlencoded, multipart or JSON; larger is 413.
    # Werkzeug limits multipart text fields (MAX_FORM_MEMORY_SIZE) but not urlencoded bodies.
    MAX_CONTENT_LENGTH = 1_000_000
    SECURE_COOKIES: bool | None = None  # None: secure unless debugging or testing
    # How many reverse proxies in front of the app append to X-Forwarded-For (and set
    # X-Forwarded-Proto). 0: the client is the socket's peer and those headers are ignored.
    TRUSTED_PROXY_COUNT = 0
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


# Rate-limit storages this app ships the client for (Flask-Limiter's "redis" extra).
STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Setting:
    """One setting read from the environment; its type is that of its default in ``Defaults``.

    ``choices`` and ``minimum``/``maximum`` bound the value wherever it was set (environment,
    ``instance/config.py`` or ``create_app``), so a typo cannot quietly fall back to a default.
    """

    name: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    rate_limit: bool = False
    storage_uri: bool = False
    keep_spaces: bool = False  # a password is taken as given; other text is stripped
    comma_list: bool = False  # a list of names, comma-separated in the environment

    @property
    def kind(self) -> type:
        """``int``, ``float``, ``bool``, ``str`` or ``list``: the annotation (``X | None``) or
        the default."""
        if self.comma_list:
            return list
        hint = typing.get_type_hints(Defaults).get(self.name)
        if isinstance(hint, types.UnionType):
            (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        return hint or type(getattr(Defaults, self.name))

    def parse(self, raw: str) -> Any:
        """The value of the environment variable, or ConfigError naming it and what it holds."""
        text = raw.strip()
        if self.comma_list:
            value: Any = [name.strip() for name in text.split(",") if name.strip()]
        elif self.kind is bool:
            if text.lower() in TRUE:
                value = True
            elif text.lower() in FALSE:
                value = False
            else:
                raise self.error(raw, "must be one of true/false, 1/0, yes/no, on/off")
        elif self.kind is int:
            try:
                value = int(text)
            except ValueError:
                raise self.error(raw, "must be a whole number") from None
        elif self.kind is float:
            try:
                value = float(text)
            except ValueError:
                raise self.error(raw, "must be a number, e.g. 5 or 0.5") from None
        else:
            value = raw if self.keep_spaces else text
        problem = self.problem(value)
        if problem:
            raise self.error(raw, problem)
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value of the right type, or None."""
        if self.choices and value not in self.choices:
            return "must be one of " + ", ".join(self.choices)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if self.kind is float and not (is_number and math.isfinite(value)):
            return "must be a number, e.g. 5 or 0.5"
        if self.kind is int and not (is_number and isinstance(value, int)):
            return "must be a whole number"
        if self.kind is bool and not isinstance(value, bool):
            return "must be True or False"
        if self.kind is str and not isinstance(value, str):
            return "must be text"
        if self.kind is list and not (
            isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)
        ):
            return "must be a list of names, e.g. symposium.example.org,www.example.org"
        if is_number:
            if self.positive and not value > 0:
                return "must be more than 0"
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}"
        if self.rate_limit and isinstance(value, str):
            try:
                limits.parse_many(value)
            except ValueError:
                return "must be rate limits such as '10 per minute;100 per hour'"
        if self.storage_uri and isinstance(value, str):
            scheme = urllib.parse.urlsplit(value).scheme
            if "://" not in value or scheme not in STORAGE_SCHEMES:
                return "must start with one of " + ", ".join(f"{s}://" for s in STORAGE_SCHEMES)
        return None

    def error(self, value: Any, problem: str) -> ConfigError:
        return ConfigError(f"{self.name}={value!r}: {problem}")


# Every setting read from the environment, documented in the README's configuration table.
SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY"),
    Setting("DATABASE_URL"),
    Setting("BASE_URL"),
    Setting("TRUSTED_HOSTS", comma_list=True),
    Setting("PAGE_CACHE_SECONDS", minimum=0),
    Setting("SECURE_COOKIES"),
    Setting("REGISTRATION_RATE_LIMIT", rate_limit=True),
    Setting("VERIFICATION_RATE_LIMIT", rate_limit=True),
    Setting("LOGIN_RATE_LIMIT", rate_limit=True),
    Setting("RATELIMIT_STORAGE_URI", storage_uri=True),
    Setting("TRUSTED_PROXY_COUNT", minimum=0, maximum=5),
    Setting("MAIL_BACKEND", choices=("file", "smtp")),
    Setting("MAIL_FILE_DIR"),
    Setting("MAIL_SENDER"),
    Setting("MAIL_DOMAIN"),
    Setting("MAIL_SERVER"),
    Setting("MAIL_PORT", minimum=1, maximum=65535),
    Setting("MAIL_USE_STARTTLS"),
    Setting("MAIL_USE_SSL"),
    Setting("MAIL_USERNAME"),
    Setting("MAIL_PASSWORD", keep_spaces=True),
    Setting("MAIL_TIMEOUT", minimum=1),
    Setting("MAIL_MAX_ATTEMPTS", minimum=1),
    Setting("MAIL_RETRY_SECONDS", minimum=1),
    Setting("MAIL_RETRY_MAX_SECONDS", minimum=1),
    Setting("MAIL_LEASE_SECONDS", minimum=1),
    Setting("LOCK_TIMEOUT_SECONDS", positive=True, maximum=3600),
    Setting("RETENTION_DAYS", minimum=0, maximum=3660),
    Setting("ACCREDITATION_RETENTION_DAYS", minimum=0, maximum=3660),
    Setting("CERTIFICATE_RETENTION_DAYS", minimum=0, maximum=3660),
    Setting("MAX_CONTENT_LENGTH", minimum=10_000),
)


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as environment variables, converted; an empty variable is unset.

    Raises one ConfigError listing every variable that holds a value that cannot run.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if not raw or not raw.strip():
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("invalid environment variable(s): " + "; ".join(problems))
    return values


def check(config: Mapping[str, Any], settings: Iterable[Setting] = SETTINGS) -> None:
    """Refuse a combination that cannot run, whichever source each value came from."""
    problems = [
        str(setting.error(value, problem))
        for setting in settings
        if (value := config.get(setting.name)) is not None and (problem := setting.problem(value))
    ]
    if config.get("MAIL_USE_SSL") and config.get("MAIL_USE_STARTTLS"):
        problems.append(
            "MAIL_USE_SSL and MAIL_USE_STARTTLS are both on: choose one (SSL usually on port "
            "465, STARTTLS on 587)"
        )
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
