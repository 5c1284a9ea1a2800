"""Measure the fixed CPU cost under every request: the database layers and Flask, with no app work on top.

What an edit request costs that the app's own code does not decide (see
bench/edit_cpu.py for the edit itself). In this process, on PostgreSQL, each
figure the CPU time (``time.process_time``: the server's work left out) per
iteration, with the load average:

- one transaction holding ``SELECT 1``, three ways: psycopg alone (the
  baseline of the run), SQLAlchemy Core (``engine.connect()``, execute,
  commit) and the ORM ``Session`` the app uses (execute, commit, close);
- one more statement inside an open transaction, the same three ways;
- the app's session check (the first statement of every request), through the
  ORM ``Session`` as the app runs it, inside its own transaction;
- a request to ``GET /healthz`` (no database) through Flask's test client, and
  through gunicorn (one sync worker, a new loopback connection per request,
  the worker's CPU read from /proc) as bench/load.py serves the app.

Every figure is printed with its ratio to psycopg's transaction. Nothing is
asserted.

    .venv/bin/python bench/request_floor.py [--n 4000] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import load  # noqa: E402
from web import postgres_database  # noqa: E402

from annotator import create_app  # noqa: E402
from annotator.models import User  # noqa: E402
from annotator.services import sessions  # noqa: E402

SELECT_ONE = "SELECT 1"


def per_call(function, n: int) -> float:
    """Return the CPU microseconds of one call of ``function``, after a warm-up."""
    for _ in range(max(200, n // 10)):
        function()
    started = time.process_time()
    for _ in range(n):
        function()
    return (time.process_time() - started) * 1e6 / n


def database_figures(engine, n: int) -> list[tuple[str, float]]:
    statement = text(SELECT_ONE)
    raw = engine.raw_connection()
    psycopg = raw.driver_connection

    def psycopg_transaction():
        psycopg.execute(SELECT_ONE).fetchone()
        psycopg.commit()

    def core_transaction():
        with engine.connect() as connection:
            connection.execute(statement).first()
            connection.commit()

    def session_transaction():
        session = Session(engine)
        session.execute(statement).first()
        session.commit()
        session.close()

    figures = [
        ("transaction with SELECT 1: psycopg", per_call(psycopg_transaction, n)),
        ("transaction with SELECT 1: SQLAlchemy Core", per_call(core_transaction, n)),
        ("transaction with SELECT 1: ORM Session (the app's)", per_call(session_transaction, n)),
    ]
    # One more statement in a transaction that is already open.
    psycopg.execute(SELECT_ONE).fetchone()
    figures.append(
        (
            "a statement in an open transaction: psycopg",
            per_call(lambda: psycopg.execute(SELECT_ONE).fetchone(), n),
        )
    )
    psycopg.rollback()
    raw.close()
    with engine.connect() as connection:
        connection.execute(statement).first()
        figures.append(
            (
                "a statement in an open transaction: Core",
                per_call(lambda: connection.execute(statement).first(), n),
            )
        )
    with Session(engine) as session:
        session.execute(statement).first()
        figures.append(
            (
                "a statement in an open transaction: Session",
                per_call(lambda: session.execute(statement).first(), n),
            )
        )
    with Session(engine) as session:
        user = User(username="floor", password_hash="-", role="annotator")
        session.add(user)
        session.commit()
        token = sessions.start_session(session, user.id, lifetime=timedelta(hours=1))
        session.commit()

    def session_check():
        session = Session(engine)
        assert sessions.check_session(session, token) is not None
        session.commit()
        session.close()

    figures.append(("the app's session check, in its transaction (Session)", per_call(session_check, n)))
    return figures


def flask_figures(url: str, n: int) -> list[tuple[str, float]]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "request-floor"})
    client = app.test_client()
    figures = [("GET /healthz: Flask test client", per_call(lambda: client.get("/healthz"), n))]
    app.extensions["annotator.engine"].dispose()
    port = load.free_port()
    server = load.start_gunicorn(url, port, 1)
    try:
        for _ in range(200):
            load.request(port, "GET", "/healthz")
        before = load.gunicorn_cpu(server.pid)
        for _ in range(n):
            load.request(port, "GET", "/healthz")
        figures.append(("GET /healthz: gunicorn worker", (load.gunicorn_cpu(server.pid) - before) * 1e6 / n))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000, help="iterations of each measurement (default 4000)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    options = parser.parse_args()
    database = postgres_database(options.postgres)
    if database is None:
        sys.exit("PostgreSQL does not answer")
    with database as (engine, url):
        figures = database_figures(engine, options.n) + flask_figures(url, options.n)
    baseline = figures[0][1]
    print(f"CPU per call, {options.n} calls each, PostgreSQL (load average {load.loadavg()})")
    for name, micros in figures:
        print(f"  {name:58s} {micros:8.1f} us  {micros / baseline:5.2f}x")


if __name__ == "__main__":
    main()
