"""The app factory reads its settings from the environment, with safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from annotator import create_app
from annotator.config import load_or_create_secret_key
from annotator.db import POSTGRES_CONNECT_TIMEOUT_S, make_engine


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


def test_sqlite_busy_timeout_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path}/b.sqlite3")
    monkeypatch.setenv("ANNOTATOR_SQLITE_BUSY_TIMEOUT_MS", "250")
    app = create_app()
    with app.extensions["annotator.engine"].connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    app.extensions["annotator.engine"].dispose()


def test_sqlite_busy_timeout_defaults_to_five_seconds(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3", "SECRET_KEY": "k"})
    with app.extensions["annotator.engine"].connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    app.extensions["annotator.engine"].dispose()


def test_a_busy_timeout_that_is_not_a_number_is_refused_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path}/n.sqlite3")
    monkeypatch.setenv("ANNOTATOR_SQLITE_BUSY_TIMEOUT_MS", "5s")
    with pytest.raises(ValueError, match="ANNOTATOR_SQLITE_BUSY_TIMEOUT_MS='5s': must be a whole number"):
        create_app()


def test_postgresql_connections_give_up_after_a_few_seconds_unless_the_url_says(postgres_url):
    chosen = make_url(postgres_url).update_query_dict({"connect_timeout": "17"})
    for url, timeout in (
        (postgres_url, str(POSTGRES_CONNECT_TIMEOUT_S)),
        (chosen.render_as_string(hide_password=False), "17"),
    ):
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.info.get_parameters()["connect_timeout"] == timeout
        engine.dispose()
