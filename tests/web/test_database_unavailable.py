"""A database that is down, locked, read-only or full: 503 with a message a person can act on, never a 500.

Each failure is real: a PostgreSQL port where nothing listens, a server that
terminates the app's connections and refuses new ones, an SQLite file locked by
another writer, opened read-only, or capped at its current size.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from annotator import create_app
from annotator.db import make_engine
from annotator.models import SpanEdit
from annotator.services.sessions import start_session
from annotator.services.users import get_user_by_name
from tests.conftest import POSTGRES_URL
from tests.web.conftest import TEST_CSRF
from tests.web.review_helpers import (
    HTMX,
    at,
    find,
    form_post,
    hx_post,
    open_review_article,
    state,
    working_copy,
)

SECRET_KEY = "test-secret-key"
NOT_LOADED = "The database is unavailable, so this could not be loaded. Retry in a moment."
NOT_SAVED = "The database is unavailable, so your last edit was not saved. Retry it in a moment."
MAYBE_SAVED = "it may not have been saved. Reload the page in a moment to see what was saved."
# Short, so that a statement on a locked file gives up at once.
BUSY_TIMEOUT_MS = 20


@pytest.fixture
def app(database_url):
    """The app on each backend, with a short SQLite busy timeout."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "SQLITE_BUSY_TIMEOUT_MS": BUSY_TIMEOUT_MS,
        }
    )
    yield app
    app.extensions["annotator.engine"].dispose()


@pytest.fixture
def opened(client, auth, db_session):
    """Ann, logged in, has opened the article (so has her working copy at version 0)."""
    return open_review_article(client, auth, db_session)


@pytest.fixture
def unreachable_url():
    """Return a PostgreSQL URL on 127.0.0.1 at a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/annotator"


@pytest.fixture
def unreachable_app(unreachable_url):
    app = create_app({"TESTING": True, "DATABASE_URL": unreachable_url, "SECRET_KEY": SECRET_KEY})
    yield app
    app.extensions["annotator.engine"].dispose()


def logged_in_client(app):
    """Return a client whose cookie carries a session token, as a logged-in browser's would.

    The database is unreachable, so the token names no stored session: checking it is
    the request's first query, which is what fails.
    """
    client = app.test_client()
    with client.session_transaction() as session:
        session["sid"] = "a-session-token"
        session["csrf_token"] = TEST_CSRF
    return client


def sqlite_path(database_url: str) -> str:
    return make_url(database_url).database


def assert_unavailable_page(response, message: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "<html" in html
    assert message in html
    assert "Traceback" not in html
    assert "Internal Server Error" not in html


def assert_unavailable_fragment(response, message: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "<html" not in html
    shown = find(html, "id", "message")
    assert shown is not None, html
    assert message in shown.text
    assert "message-error" in shown.attrs["class"]
    assert "Traceback" not in html
    assert "Internal Server Error" not in html


def assert_logged_once(caplog, reason: str) -> None:
    """The failure is logged in one line, without a traceback, and nothing else complained."""
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert reason in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert warnings[0].exc_info is None


def nothing_saved(db_session, article, before) -> None:
    assert working_copy(db_session, article, "ann") == before
    assert state(db_session, article, "ann").version == 0
    assert db_session.exec(select(SpanEdit)).all() == []


def add_monday(client, article, post=hx_post):
    start, end = at("Monday")
    return post(client, f"/review/{article.id}/spans", start=start, end=end, label="ACTOR", version=0)


# --- PostgreSQL not listening ------------------------------------------------------------------


def test_a_page_answers_503_with_a_message_when_postgresql_is_down(unreachable_app, caplog):
    response = logged_in_client(unreachable_app).get("/articles/")
    assert_unavailable_page(response, NOT_LOADED)
    assert_logged_once(caplog, "Connection refused")


def test_an_htmx_request_gets_the_message_fragment_when_postgresql_is_down(unreachable_app):
    response = logged_in_client(unreachable_app).get("/review/1/panel", headers=HTMX)
    assert_unavailable_fragment(response, NOT_LOADED)


def test_an_edit_says_it_was_not_saved_when_postgresql_is_down(unreachable_app):
    client = logged_in_client(unreachable_app)
    response = hx_post(client, "/review/1/spans", start=0, end=5, label="ACTOR", version=0)
    assert_unavailable_fragment(response, NOT_SAVED)
    response = form_post(client, "/review/1/spans", start="0", end="5", label="ACTOR", version="0")
    assert_unavailable_page(response, NOT_SAVED)


def test_logging_in_says_so_when_postgresql_is_down(unreachable_app):
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = TEST_CSRF
    response = client.post(
        "/auth/login", data={"username": "ann", "password": "secret-pw", "csrf_token": TEST_CSRF}
    )
    assert_unavailable_page(response, "so you could not be logged in. Retry in a moment.")


def test_liveness_and_static_files_answer_when_postgresql_is_down(unreachable_app):
    # Logged in, as a browser loading the 503 page's stylesheet is.
    client = logged_in_client(unreachable_app)
    assert client.get("/healthz").json == {"status": "ok"}
    with client.get("/static/app.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_readyz_answers_503_with_the_reason_when_postgresql_is_down(unreachable_app):
    ready = logged_in_client(unreachable_app).get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["Retry-After"].isdigit()
    assert ready.json["status"] == "unavailable"
    assert "Connection refused" in ready.json["database"]
    assert "\n" not in ready.json["database"]


# --- PostgreSQL terminating the app's connections ----------------------------------------------


@pytest.fixture
def admin():
    """An engine on the PostgreSQL server's maintenance database, for what an operator would do."""
    if not POSTGRES_URL:
        pytest.skip("ANNOTATOR_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def terminate_connections(admin, database: str) -> None:
    """Terminate every connection to ``database`` and wait until each is gone."""
    with admin.connect() as connection:
        terminated = connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = %(database)s AND pid <> pg_backend_pid()",
            {"database": database},
        ).scalars()
        assert all(terminated)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_terminated_connections_are_replaced_then_a_refusing_server_answers_503(
    client, opened, db_session, admin, database_url
):
    database = make_url(database_url).database
    before = working_copy(db_session, opened, "ann")
    db_session.commit()  # hand its connection back to the pool, which checks it on checkout
    terminate_connections(admin, database)
    # The pool notices the closed connections and connects again: nobody sees the restart.
    assert client.get("/articles/helmand%2F1").status_code == 200
    with admin.connect() as connection:
        connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        terminate_connections(admin, database)
        assert_unavailable_page(client.get("/articles/helmand%2F1"), NOT_LOADED)
        assert_unavailable_fragment(add_monday(client, opened), NOT_SAVED)
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    nothing_saved(db_session, opened, before)
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_commit_cut_off_says_the_edit_may_not_have_been_saved(client, opened, db_session, admin, app):
    before = working_copy(db_session, opened, "ann")
    engine = app.extensions["annotator.engine"]

    def terminate_before_commit(connection):
        pid = connection.connection.dbapi_connection.info.backend_pid
        with admin.connect() as killer:
            assert killer.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar()

    event.listen(engine, "commit", terminate_before_commit)
    try:
        response = add_monday(client, opened)
    finally:
        event.remove(engine, "commit", terminate_before_commit)
    assert_unavailable_fragment(response, MAYBE_SAVED)
    # The server died before the COMMIT reached it, so here we know: nothing was saved.
    nothing_saved(db_session, opened, before)
    assert client.get("/articles/helmand%2F1").status_code == 200


# --- SQLite locked, read-only, full ----------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("post", [hx_post, form_post])
def test_an_edit_on_a_locked_sqlite_file_is_not_saved(client, opened, db_session, database_url, post, caplog):
    before = working_copy(db_session, opened, "ann")
    writer = sqlite3.connect(sqlite_path(database_url), isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        response = add_monday(client, opened, post)
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    if post is hx_post:
        assert_unavailable_fragment(response, NOT_SAVED)
    else:
        assert_unavailable_page(response, NOT_SAVED)
    assert_logged_once(caplog, "database is locked")
    nothing_saved(db_session, opened, before)
    # Once the other writer is done, the same edit goes through.
    assert add_monday(client, opened).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_edit_on_a_read_only_sqlite_file_is_not_saved(opened, db_session, database_url, caplog):
    read_only = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///file:{sqlite_path(database_url)}?mode=ro&uri=true",
            "SECRET_KEY": SECRET_KEY,
        }
    )
    before = working_copy(db_session, opened, "ann")
    try:
        client = logged_in_client(read_only)
        token = start_session(db_session, get_user_by_name(db_session, "ann").id, lifetime=timedelta(hours=1))
        with client.session_transaction() as session:
            session["sid"] = token  # a login made on the writable database, before it went read-only
        assert client.get("/articles/helmand%2F1").status_code == 200  # reading still works
        response = add_monday(client, opened)
        assert client.get("/readyz").status_code == 200  # queries still answer
    finally:
        read_only.extensions["annotator.engine"].dispose()
    assert_unavailable_fragment(response, NOT_SAVED)
    assert_logged_once(caplog, "attempt to write a readonly database")
    nothing_saved(db_session, opened, before)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_edit_on_a_full_sqlite_file_is_not_saved_nor_half_written(client, opened, db_session, app):
    engine = app.extensions["annotator.engine"]

    def cap_at_current_size(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()  # the pooled connections were opened before the cap
    event.listen(engine, "connect", cap_at_current_size)
    # Flags with long comments (each logged with the comment it replaced) soon need a page more.
    saved, response = 0, None
    for number in range(50):
        response = hx_post(
            client,
            f"/review/{opened.id}/status",
            status="flagged",
            comment=f"{number}: " + "unclear casualty figure " * 60,
            version=saved,
        )
        if response.status_code != 200:
            break
        saved += 1
    assert_unavailable_fragment(response, NOT_SAVED)
    # The refused edit left nothing behind: the version and the log are those of the saved edits.
    assert state(db_session, opened, "ann").version == saved
    assert state(db_session, opened, "ann").comment.startswith(f"{saved - 1}: ")
    assert len(db_session.exec(select(SpanEdit)).all()) == saved


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_query_bug_is_not_disguised_as_an_outage(client, opened, db_session):
    """A missing table (a migration not run) is a 500 with its traceback, not "retry in a moment"."""
    db_session.connection().exec_driver_sql("DROP TABLE span_edit")
    db_session.commit()
    with pytest.raises(OperationalError, match="no such table"):
        add_monday(client, opened)


# --- error pages that query --------------------------------------------------------------------


def fail_like_a_dead_server(unreachable_url):
    """Return a stand-in for a service function that fails as a query on a stopped server does."""

    def query(*_args, **_kwargs):
        engine = make_engine(unreachable_url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    return query


def test_a_refused_edit_whose_refresh_fails_answers_503(client, opened, monkeypatch, unreachable_url):
    # The edit is refused (unknown label); reloading the working copy to show with it fails.
    monkeypatch.setattr(
        "annotator.services.workspace.article_exists", fail_like_a_dead_server(unreachable_url)
    )
    start, end = at("Monday")
    response = hx_post(client, f"/review/{opened.id}/spans", start=start, end=end, label="PERSON", version=0)
    assert_unavailable_fragment(response, NOT_SAVED)


def test_an_error_page_whose_progress_fails_answers_503(client, opened, monkeypatch, unreachable_url):
    # A 404 page shows the user's progress in its top bar: a query.
    monkeypatch.setattr("annotator.services.progress.progress", fail_like_a_dead_server(unreachable_url))
    assert_unavailable_page(client.get("/nowhere"), NOT_LOADED)


# --- readiness on a healthy database -----------------------------------------------------------


def test_readyz_answers_200_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok"}
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_answers_503_when_the_sqlite_file_cannot_be_opened(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/gone/db.sqlite3", "SECRET_KEY": SECRET_KEY}
    )
    try:
        ready = app.test_client().get("/readyz")
    finally:
        app.extensions["annotator.engine"].dispose()
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "database": "unable to open database file"}
