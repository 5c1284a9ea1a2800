"""The app factory reads its settings from the environment, with safe defaults."""

from __future__ import annotations

from pathlib import Path

from annotator import create_app
from annotator.config import load_or_create_secret_key


def test_test_config_overrides_defaults(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k"})
    assert app.testing
    assert app.config["SECRET_KEY"] == "k"
    assert app.config["DATABASE_URL"].endswith("x.sqlite3")


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("ANNOTATOR_SECRET_KEY", "from-env")
    monkeypatch.setenv("ANNOTATOR_MODEL", "my_model")
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/env.sqlite3"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MODEL"] == "my_model"


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "MODEL"):
        monkeypatch.delenv(f"ANNOTATOR_{name}", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{Path(app.instance_path) / 'annotator.sqlite3'}"
    assert app.config["MODEL"] is None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3", "SECRET_KEY": "k"})
    with app.extensions["annotator.engine"].connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    second = load_or_create_secret_key(tmp_path)
    assert first == second
    assert len(first) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_generated_secret_key_differs_between_instances(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert load_or_create_secret_key(tmp_path / "a") != load_or_create_secret_key(tmp_path / "b")


def test_session_cookie_is_hardened(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/c.sqlite3", "SECRET_KEY": "k"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_postgres_url_gets_the_psycopg_driver():
    from annotator.db import normalize_url

    assert normalize_url("postgresql://postgres@127.0.0.1/test").startswith("postgresql+psycopg://")
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_secret_key_is_the_same_for_workers_starting_together(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: load_or_create_secret_key(tmp_path), range(32)))
    assert len(keys) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]
