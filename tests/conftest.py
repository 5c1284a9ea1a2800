"""Fixtures shared by every test: the database on SQLite and PostgreSQL, the app, its clients.

Database tests run once per backend. SQLite is always there; PostgreSQL joins
when ANNOTATOR_TEST_POSTGRES_URL names a server (``make test`` sets it when
one answers on 127.0.0.1:5432). Each test run creates its own PostgreSQL
database and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from annotator import create_app
from annotator.db import make_engine, normalize_url, stamp_head
from annotator.services import users

POSTGRES_URL = os.environ.get("ANNOTATOR_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
SEEDS = REPO / "seeds"

# The same KDF as production at a lower cost, so tests that log in stay fast.
users.PASSWORD_METHOD = "scrypt:1024:8:1"


@pytest.fixture(scope="session")
def postgres_url():
    """Create a PostgreSQL database for this test run, with the schema, and drop it after."""
    if not POSTGRES_URL:
        pytest.skip("ANNOTATOR_TEST_POSTGRES_URL is not set")
    name = f"annotator_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    stamp_head(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """Yield the URL of an empty database with the current schema, on each backend.

    The schema comes from the models (quicker than migrating every time; the
    migration tests prove the two equal), stamped as the newest migration.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        stamp_head(engine)
        engine.dispose()
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        yield url
        _truncate_all(url)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key"})
    yield app
    app.extensions["annotator.engine"].dispose()


@pytest.fixture
def db_session(app):
    """A session on the app's own database, for arranging and checking data."""
    with Session(app.extensions["annotator.engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
