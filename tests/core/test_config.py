import os
import re
from pathlib import Path
from typing import Any

import pytest
from limits.storage import RedisStorage

from symposium import ConfigError, create_app
from symposium.config import ROOT, SETTINGS, from_environment
from symposium.extensions import limiter


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLASK_DEBUG", *(s.name for s in SETTINGS)):
        monkeypatch.delenv(name, raising=False)


def test_missing_secret_key_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(instance_path=str(tmp_path))


def test_debug_and_testing_run_without_secret_key(tmp_path: Path) -> None:
    assert create_app({"DEBUG": True}, instance_path=str(tmp_path)).secret_key
    assert create_app({"TESTING": True}, instance_path=str(tmp_path)).secret_key


def test_production_without_base_url_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mail links come from BASE_URL (the delivery worker writes mail outside requests)."""
    create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert "BASE_URL is not set" in caplog.text
    caplog.clear()
    monkeypatch.setenv("BASE_URL", "https://symposium.example.org")
    create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert "BASE_URL" not in caplog.text


def test_sqlite_file_in_instance_folder_by_default(tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/symposium.sqlite3"


def test_instance_config_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-file'\nDATABASE_URL = 'sqlite:///from-file.db'\n"
    )
    app = create_app(instance_path=str(tmp_path))
    assert app.secret_key == "from-file"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///from-file.db"

    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/prod")
    app = create_app(instance_path=str(tmp_path))
    assert app.secret_key == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/prod"


# One environment value per setting and what it must become in app.config.
CONVERSIONS: dict[str, tuple[str, Any]] = {
    "SECRET_KEY": ("from-env", "from-env"),
    "DATABASE_URL": ("sqlite:///from-env.db", "sqlite:///from-env.db"),
    "BASE_URL": ("https://symposium.example.org", "https://symposium.example.org"),
    "TRUSTED_HOSTS": (
        " symposium.example.org, .example.net,,",
        ["symposium.example.org", ".example.net"],
    ),
    "PAGE_CACHE_SECONDS": ("0", 0),
    "SECURE_COOKIES": ("false", False),
    "REGISTRATION_RATE_LIMIT": ("3 per minute", "3 per minute"),
    "VERIFICATION_RATE_LIMIT": ("20 per minute;100 per hour", "20 per minute;100 per hour"),
    "LOGIN_RATE_LIMIT": ("2 per minute;10 per hour", "2 per minute;10 per hour"),
    "RATELIMIT_STORAGE_URI": ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
    "TRUSTED_PROXY_COUNT": ("1", 1),
    "MAIL_BACKEND": ("smtp", "smtp"),
    "MAIL_FILE_DIR": ("/var/spool/symposium", "/var/spool/symposium"),
    "MAIL_SENDER": ("Symposium <s@example.org>", "Symposium <s@example.org>"),
    "MAIL_DOMAIN": ("symposium.example.org", "symposium.example.org"),
    "MAIL_SERVER": ("smtp.example.org", "smtp.example.org"),
    "MAIL_PORT": ("587", 587),
    "MAIL_USE_STARTTLS": ("true", True),
    "MAIL_USE_SSL": ("on", True),
    "MAIL_USERNAME": ("symposium@example.org", "symposium@example.org"),
    "MAIL_PASSWORD": (" pass word ", " pass word "),  # kept as given
    "MAIL_TIMEOUT": ("30", 30),
    "MAIL_MAX_ATTEMPTS": (" 3 ", 3),
    "MAIL_RETRY_SECONDS": ("15", 15),
    "MAIL_RETRY_MAX_SECONDS": ("3600", 3600),
    "MAIL_LEASE_SECONDS": ("900", 900),
    "LOCK_TIMEOUT_SECONDS": ("2.5", 2.5),
    "RETENTION_DAYS": ("30", 30),
    "ACCREDITATION_RETENTION_DAYS": (" 180 ", 180),
    "CERTIFICATE_RETENTION_DAYS": ("730", 730),
    "MAX_CONTENT_LENGTH": ("2000000", 2_000_000),
}


def test_every_setting_has_a_conversion_test() -> None:
    assert set(CONVERSIONS) == {s.name for s in SETTINGS}


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_each_setting_is_read_from_the_environment_as_its_type(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, expected = CONVERSIONS[name]
    monkeypatch.setenv(name, raw)
    value = from_environment(os.environ)[name]
    assert value == expected and type(value) is type(expected)


def test_the_app_runs_on_the_converted_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MAIL_BACKEND", "MAIL_PORT", "MAIL_USE_STARTTLS", "SECURE_COOKIES"):
        monkeypatch.setenv(name, CONVERSIONS[name][0])
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_USE_STARTTLS"] is True and app.config["MAIL_BACKEND"] == "smtp"
    assert app.config["SESSION_COOKIE_SECURE"] is False  # "false" is not a truthy string


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(word, True) for word in ("1", "true", "TRUE", "yes", "Yes", "on")]
    + [(word, False) for word in ("0", "false", "False", "no", "off", " OFF ")],
)
def test_switch_spellings(raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_USE_SSL", raw)
    assert from_environment(os.environ)["MAIL_USE_SSL"] is expected


def test_an_empty_variable_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.py").write_text("MAIL_PORT = 2525\nMAIL_PASSWORD = 'from-file'\n")
    monkeypatch.setenv("MAIL_PORT", "")
    monkeypatch.setenv("MAIL_PASSWORD", "")
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert (app.config["MAIL_PORT"], app.config["MAIL_PASSWORD"]) == (2525, "from-file")


def test_defaults_then_instance_config_then_environment_then_explicit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def port(**explicit: Any) -> int:
        app = create_app({"TESTING": True, **explicit}, instance_path=str(tmp_path))
        return app.config["MAIL_PORT"]

    assert port() == 25
    (tmp_path / "config.py").write_text("MAIL_PORT = 2525\n")
    assert port() == 2525
    monkeypatch.setenv("MAIL_PORT", "587")
    assert port() == 587
    assert port(MAIL_PORT=465) == 465


@pytest.mark.parametrize(
    ("name", "raw", "problem"),
    [
        ("MAIL_PORT", "abc", "must be a whole number"),
        ("MAIL_PORT", "587.0", "must be a whole number"),
        ("MAIL_PORT", "0", "must be at least 1"),
        ("MAIL_PORT", "70000", "must be at most 65535"),
        ("PAGE_CACHE_SECONDS", "-1", "must be at least 0"),
        ("MAIL_LEASE_SECONDS", "0", "must be at least 1"),
        ("MAIL_USE_STARTTLS", "maybe", "must be one of true/false"),
        ("SECURE_COOKIES", "secure", "must be one of true/false"),
        ("MAIL_BACKEND", "smpt", "must be one of file, smtp"),
        ("REGISTRATION_RATE_LIMIT", "10 per fortnight", "must be rate limits"),
        ("LOGIN_RATE_LIMIT", "five per minute", "must be rate limits"),
        ("LOCK_TIMEOUT_SECONDS", "soon", "must be a number"),
        ("LOCK_TIMEOUT_SECONDS", "0", "must be more than 0"),
        ("LOCK_TIMEOUT_SECONDS", "inf", "must be a number"),
        ("LOCK_TIMEOUT_SECONDS", "7200", "must be at most 3600"),
        ("RATELIMIT_STORAGE_URI", "reddis://127.0.0.1:6379", "must start with one of memory://"),
        ("RATELIMIT_STORAGE_URI", "127.0.0.1:6379", "must start with one of memory://"),
        ("RATELIMIT_STORAGE_URI", "memory", "must start with one of memory://"),
        ("RATELIMIT_STORAGE_URI", "memcached://127.0.0.1:11211", "must start with one of"),
        ("RATELIMIT_STORAGE_URI", "async+redis://127.0.0.1:6379", "must start with one of"),
        ("TRUSTED_PROXY_COUNT", "-1", "must be at least 0"),
        ("TRUSTED_PROXY_COUNT", "yes", "must be a whole number"),
        ("MAX_CONTENT_LENGTH", "100", "must be at least 10000"),
    ],
)
def test_a_bad_value_stops_start_up_naming_variable_and_value(
    name: str, raw: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert f"{name}={raw!r}: {problem}" in str(info.value)


def test_the_rate_limit_storage_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storage is built at start-up (no connection yet): its client library is there."""
    was_enabled = limiter.enabled
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/3")
    try:
        create_app({"TESTING": True, "RATELIMIT_ENABLED": True}, instance_path=str(tmp_path))
        assert isinstance(limiter.storage, RedisStorage)
    finally:
        limiter.enabled = was_enabled


def test_production_on_memory_storage_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """memory:// counts per worker: fine for the demo and tests, said out loud elsewhere."""
    create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert "RATELIMIT_STORAGE_URI is memory://" in caplog.text
    caplog.clear()
    create_app({"TESTING": True}, instance_path=str(tmp_path))
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert "RATELIMIT_STORAGE_URI" not in caplog.text


def test_every_bad_variable_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_PORT", "abc")
    monkeypatch.setenv("MAIL_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"MAIL_PORT='abc'.*MAIL_TIMEOUT='soon'"):
        from_environment(os.environ)


def test_ssl_and_starttls_together_stop_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_USE_SSL", "true")
    monkeypatch.setenv("MAIL_USE_STARTTLS", "yes")
    with pytest.raises(ConfigError, match="MAIL_USE_SSL and MAIL_USE_STARTTLS are both on"):
        create_app({"TESTING": True}, instance_path=str(tmp_path))
    monkeypatch.setenv("MAIL_USE_STARTTLS", "no")
    assert create_app({"TESTING": True}, instance_path=str(tmp_path)).config["MAIL_USE_SSL"]


def test_a_bad_choice_in_instance_config_stops_start_up(tmp_path: Path) -> None:
    """Otherwise a typo quietly writes files instead of sending mail."""
    (tmp_path / "config.py").write_text("MAIL_BACKEND = 'SMTP'\n")
    with pytest.raises(ConfigError, match="MAIL_BACKEND='SMTP': must be one of file, smtp"):
        create_app({"TESTING": True}, instance_path=str(tmp_path))


def test_the_readme_documents_exactly_the_settings_read() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)
    assert documented == [s.name for s in SETTINGS]
    rows = re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(rows) == sorted(documented), "one table: settings are documented only there"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("MAIL_USE_SSL = 'false'", "MAIL_USE_SSL='false': must be True or False"),
        ("SECURE_COOKIES = 'no'", "SECURE_COOKIES='no': must be True or False"),
        ("MAIL_PORT = '587'", "MAIL_PORT='587': must be a whole number"),
        ("MAIL_PORT = True", "MAIL_PORT=True: must be a whole number"),
        ("LOCK_TIMEOUT_SECONDS = float('inf')", "LOCK_TIMEOUT_SECONDS=inf: must be a number"),
    ],
)
def test_a_value_of_the_wrong_type_in_instance_config_stops_start_up(
    line: str, problem: str, tmp_path: Path
) -> None:
    (tmp_path / "config.py").write_text(line + "\n")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        create_app({"TESTING": True}, instance_path=str(tmp_path))


def test_text_from_the_environment_is_stripped_but_a_password_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "smtp \n")
    monkeypatch.setenv("BASE_URL", "https://symposium.example.org\n")
    monkeypatch.setenv("SECRET_KEY", "   ")
    monkeypatch.setenv("MAIL_PASSWORD", " secret ")
    values = from_environment(os.environ)
    assert values["MAIL_BACKEND"] == "smtp"
    assert values["BASE_URL"] == "https://symposium.example.org"
    assert "SECRET_KEY" not in values
    assert values["MAIL_PASSWORD"] == " secret "
