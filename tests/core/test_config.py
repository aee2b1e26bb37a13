from pathlib import Path

import pytest

from symposium import ConfigError, create_app


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "FLASK_DEBUG", "BASE_URL"):
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
