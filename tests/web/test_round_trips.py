"""The SQL statements an article page and a span edit send: counted, so that a new query per request shows.

Each statement is a round trip to PostgreSQL (and work for the server), so the
busiest requests keep to a fixed number. Counted with the engine's
``before_cursor_execute`` event; BEGIN and COMMIT are not statements of the
app's own and are not counted. A pooled PostgreSQL connection is handed out
without a ping: the pool notices a connection the server closed without asking
it (annotator/db.py).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from tests.web.review_helpers import at, hx_post, open_review_article, span_id

# The most statements each request may send; 3fd5c6a sent 6, 8, 10, 6, 6, 6, 6 and 9, and
# checked every pooled PostgreSQL connection out with a ping besides.
LIMITS = {
    "page": 3,  # the session with the settings; the article with the working copy and note; the top bar
    "first visit": 6,  # the page's, creating the state and copying the model's spans (which come back), and
    # storing the tally's cues of an article pre-annotation did not reach
    "first edit": 8,  # an edit's, and claiming the article and setting it in progress
    "relabel": 4,  # the session; the version bump with the working copy; the span; the edit log
    "resize": 4,
    "delete": 4,
    "add": 4,
    "undo": 4,  # the edit's; the newest logged edit comes with the version bump
}
# PostgreSQL changes the span and logs the edit in one statement (data-modifying CTEs), SQLite in two.
POSTGRESQL_LIMITS = {**LIMITS, "first edit": 7, "relabel": 3, "resize": 3, "delete": 3, "add": 3, "undo": 3}


@pytest.fixture
def statements(app):
    """Collect the SQL of every statement the app's engine sends, from now on."""
    sent: list[str] = []

    def collect(_connection, _cursor, statement, _parameters, _context, _executemany):
        sent.append(re.sub(r"\s+", " ", statement))

    engine = app.extensions["annotator.engine"]
    event.listen(engine, "before_cursor_execute", collect)
    yield sent
    event.remove(engine, "before_cursor_execute", collect)


def counted(statements: list[str], call, *args, **kwargs):
    """Return the response of ``call(*args, **kwargs)`` and the statements it sent."""
    statements.clear()
    response = call(*args, **kwargs)
    return response, list(statements)


def test_an_article_page_sends_at_most_its_statements(client, auth, db_session, statements):
    from tests.web.review_helpers import make_review_article

    make_review_article(db_session)
    auth.login()
    response, first = counted(statements, client.get, "/articles/helmand%2F1")
    assert response.status_code == 200
    assert len(first) <= LIMITS["first visit"], first
    response, again = counted(statements, client.get, "/articles/helmand%2F1")
    assert response.status_code == 200
    assert len(again) <= LIMITS["page"], again


def test_span_edits_send_at_most_their_statements(client, auth, db_session, statements):
    article = open_review_article(client, auth, db_session)
    url = f"/review/{article.id}/"
    taliban = span_id(db_session, article, "ann", "Taliban")
    start, end = at("Taliban")
    edits = [
        ("first edit", "label", {"span": taliban, "label": "LOCATION"}),
        ("relabel", "label", {"span": taliban, "label": "ACTOR"}),
        ("resize", "resize", {"span": taliban, "move": "grow-end"}),
        ("resize", "resize", {"span": taliban, "move": "shrink-end"}),
        ("delete", "delete", {"span": taliban}),
        ("add", "spans", {"start": start, "end": end, "label": "ACTOR"}),
        ("undo", "undo", {}),
        ("undo", "undo", {}),
    ]
    limits = (
        POSTGRESQL_LIMITS
        if client.application.extensions["annotator.engine"].name == "postgresql"
        else LIMITS
    )
    for version, (kind, action, form) in enumerate(edits):
        response, sent = counted(statements, hx_post, client, url + action, **form, version=version)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(sent) <= limits[kind], (kind, sent)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_pooled_postgresql_connection_is_handed_out_without_a_ping(app, monkeypatch):
    engine = app.extensions["annotator.engine"]
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    for _ in range(3):
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1").scalar()
    assert pings == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_that_died_unseen_is_replaced_by_the_session_check(
    client, auth, db_session, database_url, monkeypatch
):
    """A connection whose socket gave no sign (a cable cut) fails the session check, which asks again."""
    from sqlalchemy.engine import make_url

    from annotator import db
    from tests.web.review_helpers import make_review_article

    make_review_article(db_session)
    auth.login()
    assert client.get("/articles/helmand%2F1").status_code == 200
    db_session.commit()  # hand its connection back to the pool too
    monkeypatch.setattr(db, "_readable", lambda fd: False)
    terminator = db.make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with terminator.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = %(database)s AND pid <> pg_backend_pid()",
                {"database": make_url(database_url).database},
            )
    finally:
        terminator.dispose()
    assert client.get("/articles/helmand%2F1").status_code == 200
