"""The database engine, schema migrations, and one session per request."""

from __future__ import annotations

import os
import select
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from psycopg.pq import ConnStatus
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, create_engine

from annotator.config import DEFAULT_SQLITE_BUSY_TIMEOUT_MS

MIGRATIONS = Path(__file__).parent / "migrations"
# libpq waits for a connection for ever by default; a page (or a readiness probe)
# should rather say the database is unreachable after a few seconds.
POSTGRES_CONNECT_TIMEOUT_S = 5
# SQLite result codes (the primary code, the low byte) of a file that cannot be read
# or written right now: locked by another writer, read-only, full, missing, failing.
SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)
# PostgreSQL SQLSTATE classes of a server that is unreachable (08), out of disk,
# memory or connections (53), shutting down, starting up or cancelling (57), or
# failing at the system level (58); and single codes: a read-only server (a standby),
# a lock not granted in time.
POSTGRES_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
POSTGRES_UNAVAILABLE_CODES = frozenset({"25006", "55P03"})


def normalize_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver named for a bare postgresql URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_setup(busy_timeout_ms: int) -> Callable[..., None]:
    def configure(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        # First, so that the statements below wait no longer for a lock than any other.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # WAL lets the web server read while an import or pre-annotation writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return configure


def make_engine(
    url: str, *, sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS, **kwargs
) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL mode, foreign keys on and the busy timeout."""
    parsed = make_url(normalize_url(url))
    if parsed.drivername.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_setup(sqlite_busy_timeout_ms))
    else:
        # A connection goes back to the pool rolled back (a no-op for psycopg after a COMMIT),
        # so the next request finds it clean.
        kwargs.setdefault("pool_reset_on_return", "rollback")
        watch_sockets = parsed.drivername == "postgresql+psycopg" and "pool_pre_ping" not in kwargs
        if not watch_sockets:
            kwargs.setdefault("pool_pre_ping", True)
        if parsed.drivername.startswith("postgresql") and not _connect_timeout_chosen(parsed):
            kwargs["connect_args"] = {
                "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
                **kwargs.get("connect_args", {}),
            }
        engine = create_engine(parsed, **kwargs)
        if watch_sockets:
            # Instead of a pre-ping (a round trip on every checkout): a look at the socket.
            event.listen(engine, "checkout", _refuse_closed_connection)
    _watch_commits(engine)
    return engine


def _refuse_closed_connection(dbapi_connection, _record, _proxy) -> None:
    """Refuse a pooled psycopg connection that the server closed, without sending it anything.

    An idle connection has nothing to read, unless the server has gone away: a
    backend that is terminated or shut down sends its last error and closes the
    socket, which makes it readable. Raising DisconnectionError makes the pool
    connect again in its place, as a failed pre-ping would. A connection lost
    without a word (a cable cut) is not seen here: its first statement fails, the
    request answers 503, and the pool replaces its connections (see also the
    retried session check in annotator/web).
    """
    if dbapi_connection.closed or dbapi_connection.pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection was closed")
    if _readable(dbapi_connection.pgconn.socket):
        raise DisconnectionError("the server closed the connection")


def _readable(fd: int) -> bool:
    """Return whether the socket ``fd`` has something to read (or was closed), without waiting."""
    if hasattr(select, "poll"):  # not limited to descriptors below 1024, unlike select()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _connect_timeout_chosen(url: URL) -> bool:
    return "connect_timeout" in url.query or bool(os.environ.get("PGCONNECT_TIMEOUT"))


# --- Telling an unavailable database from a bug --------------------------------

# The connections that have sent COMMIT in their current transaction.
_committing: weakref.WeakSet[Connection] = weakref.WeakSet()


def _watch_commits(engine: Engine) -> None:
    """Mark an error that cut a COMMIT off from the server, whose transaction may then have been saved."""
    event.listen(engine, "begin", _committing.discard)
    event.listen(engine, "commit", _committing.add)
    event.listen(engine, "handle_error", _note_interrupted_commit)


def _note_interrupted_commit(context: ExceptionContext) -> None:
    connection = context.connection
    if connection is None or connection not in _committing:
        return
    _committing.discard(connection)
    # A server that answered with an error did not commit; one that went away may have.
    # A local SQLite file either commits or says it did not.
    if context.is_disconnect and context.dialect.name != "sqlite" and context.sqlalchemy_exception:
        context.sqlalchemy_exception.commit_outcome_unknown = True


def commit_outcome_unknown(error: BaseException) -> bool:
    """Return whether ``error`` (or an error it interrupted) lost the connection during a COMMIT."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "commit_outcome_unknown", False):
            return True
        seen = seen.__context__
    return False


def unavailable_reason(error: BaseException) -> str | None:
    """Return, in one line, why the database cannot be reached or written, if that is what ``error`` means.

    None means ``error`` is something else (a bug in a query, a missing table) and
    deserves a 500 with its traceback, not a "retry in a moment".
    """
    if isinstance(error, (DisconnectionError, PoolTimeout)):
        return _one_line(error)
    if not isinstance(error, (OperationalError, InterfaceError)):
        return None
    cause = error.orig
    if error.connection_invalidated:
        return _one_line(cause)
    if isinstance(cause, sqlite3.Error):
        code = getattr(cause, "sqlite_errorcode", None)
        return _one_line(cause) if code is not None and code & 0xFF in SQLITE_UNAVAILABLE else None
    if hasattr(cause, "sqlstate"):  # psycopg
        sqlstate = cause.sqlstate
        # No SQLSTATE: psycopg itself failed to connect or lost the connection.
        if (
            sqlstate is None
            or sqlstate[:2] in POSTGRES_UNAVAILABLE_CLASSES
            or sqlstate in POSTGRES_UNAVAILABLE_CODES
        ):
            return _one_line(cause)
    return None


def database_problem(engine: Engine) -> str | None:
    """Return, in one line, why a query cannot reach the database right now; None when one answers."""
    # SELECT 1 never reads an SQLite file (a pooled connection keeps it open); reading its schema does.
    probe = "SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(probe).scalar()
    except SQLAlchemyError as error:
        return unavailable_reason(error) or _one_line(error)
    return None


def _one_line(error: BaseException) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration that migrates ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """Return the migration revision the database is at (None when empty)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest migration revision this code knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def schema_is_current(engine: Engine) -> bool:
    """Return whether the database is at the newest migration."""
    return current_revision(engine) == head_revision()


def stamp_head(engine: Engine) -> None:
    """Record the schema as the newest migration, for a database created from the models."""
    command.stamp(alembic_config(engine), "head")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``, keeping its data."""
    command.upgrade(alembic_config(engine), revision)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that is closed afterwards (the caller commits)."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


# --- Flask integration -----------------------------------------------------

ENGINE_KEY = "annotator.engine"


def get_engine(app: Flask | None = None) -> Engine:
    """Return the application's engine."""
    return (app or current_app).extensions[ENGINE_KEY]


def get_session() -> Session:
    """Return the request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session, rolling back what it did not commit."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Create the engine for the app's DATABASE_URL and close each request's session at its end."""
    app.extensions[ENGINE_KEY] = make_engine(
        app.config["DATABASE_URL"], sqlite_busy_timeout_ms=int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    )
    # At the end of each request: an app context pushed around several requests
    # (as in tests) would otherwise keep one session, and its connection, across them.
    app.teardown_request(close_session)
    app.teardown_appcontext(close_session)
