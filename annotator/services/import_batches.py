"""A streamed import's batch: created "importing", kept alive by a lease, then committed or cleaned up.

An import writes its articles in many short transactions, each pointing at its
batch; they stay invisible (services/visibility.py) until the batch is set to
"committed". A batch still "importing" belongs to a running import, or to one
that died. Two signs tell them apart:

- the lease: the import renews ``heartbeat_at`` with every transaction it
  writes; a heartbeat older than ``LEASE`` means the import is gone (or stuck,
  which is treated the same: its next renewal fails and it stops);
- the owner's lock, which the operating system or the server drops the moment
  the process dies (SIGKILL, a crash, a lost machine): a PostgreSQL advisory
  lock held on a connection of its own, or on SQLite an flock on a file beside
  the database. A rerun right after a kill need not wait for the lease.

Cleaning up deletes the batch's articles (their spans and gold revisions go
with them) a chunk per transaction, and the batch row last: deleting the row
first would set the articles' batch to NULL, which makes them visible.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from annotator.models import Article, BatchState, ImportBatch, utcnow

try:  # POSIX only; elsewhere SQLite imports rely on the lease alone.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

# How long a batch may go without a heartbeat before it counts as left by a crashed import.
LEASE = timedelta(minutes=2)
# Articles deleted per transaction when cleaning up (each takes its spans and revisions along).
DISCARD_CHUNK = 500
# The first key of the PostgreSQL advisory locks that mark a running import ("anno").
ADVISORY_NAMESPACE = 0x616E6E6F


class BatchLost(Exception):
    """The running import's batch was cleaned up by another process (its lease had run out)."""


@dataclass
class RunningBatch:
    """A batch this process is importing into, and the lock that tells others it is alive."""

    id: int
    _connection: Connection | None = None
    _lock_file: Path | None = None
    _lock_fd: int | None = None
    beats: int = field(default=0)

    def release(self) -> None:
        """Drop the owner's lock (after the batch is committed or discarded)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            # Closed for good, not returned to the pool, which would keep the session and its lock.
            connection.invalidate()
            connection.close()
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            if self._lock_file is not None:
                self._lock_file.unlink(missing_ok=True)
            os.close(fd)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _lock_path(engine: Engine, batch_id: int) -> Path | None:
    """Return the lock file of a batch on a file SQLite database (None: no file to put it beside)."""
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}-import-{batch_id}.lock")


def start(
    session: Session, *, channel: str, origin: str, files: list[str], user_id: int | None
) -> RunningBatch:
    """Create an "importing" batch, take its owner's lock, and commit: the import may write into it."""
    batch = ImportBatch(
        channel=channel,
        origin=origin,
        files=files,
        user_id=user_id,
        state=BatchState.IMPORTING.value,
        heartbeat_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    # The lock is taken before the row is committed: nobody can see the batch without its lock.
    running = _hold(session, batch.id)
    try:
        session.commit()
    except BaseException:
        running.release()
        raise
    return running


def _hold(session: Session, batch_id: int) -> RunningBatch:
    engine = _engine(session)
    if engine.dialect.name == "postgresql":
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(
            text("SELECT pg_advisory_lock(:namespace, :batch)"),
            {"namespace": ADVISORY_NAMESPACE, "batch": batch_id},
        )
        return RunningBatch(batch_id, _connection=connection)
    path = _lock_path(engine, batch_id)
    if path is None:
        return RunningBatch(batch_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return RunningBatch(batch_id, _lock_file=path, _lock_fd=fd)


def beat(session: Session, running: RunningBatch) -> None:
    """Renew the lease; the first statement of each transaction the import writes.

    On SQLite a write as the first statement takes the write lock at once (waiting
    for it under the busy timeout), so the transaction never fails on upgrading a read.
    Raises BatchLost when the batch is gone: the import must stop.
    """
    result = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == running.id, ImportBatch.state == BatchState.IMPORTING.value)
        .values(heartbeat_at=utcnow())
    )
    if result.rowcount != 1:
        raise BatchLost(f"import {running.id} was cleaned up by another process")
    running.beats += 1


def commit(session: Session, running: RunningBatch, summary: dict[str, Any]) -> ImportBatch:
    """Make the batch's articles visible, in the caller's transaction (which it commits)."""
    batch = session.get(ImportBatch, running.id)
    batch.state = BatchState.COMMITTED.value
    batch.summary = summary
    batch.heartbeat_at = utcnow()
    return batch


def discard(session: Session, batch_id: int) -> int:
    """Delete a batch that will never commit, and its articles a chunk per transaction; return how many.

    The batch is first claimed ("discarding", committed at once): from then on
    its import, if it still runs, fails to renew its lease and stops, and it
    cannot commit. A committed batch is left alone (0).
    """
    claimed = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.state != BatchState.COMMITTED.value)
        .values(state=BatchState.DISCARDING.value)
    ).rowcount
    session.commit()
    if not claimed:
        return 0
    return delete_discarded(session, batch_id)


def delete_discarded(session: Session, batch_id: int) -> int:
    """Delete a discarding batch's articles a chunk per transaction, then its row; return how many.

    Short transactions, so a large import's articles never hold the write lock
    for long; the app stopped seeing them when the batch became "discarding". A
    run killed midway leaves a discarding batch, which the next import (or
    ``annotator import --cleanup``) finishes.
    """
    deleted = 0
    ids = select(Article.id).where(Article.import_batch_id == batch_id).limit(DISCARD_CHUNK)
    while chunk := session.scalars(ids).all():
        session.execute(delete(Article).where(Article.id.in_(chunk)))
        session.commit()
        deleted += len(chunk)
    # The row last: its ON DELETE SET NULL would make any article left visible.
    session.execute(delete(ImportBatch).where(ImportBatch.id == batch_id))
    session.commit()
    return deleted


@dataclass
class Abandoned:
    """A batch left by a crashed import, as found (and cleaned up)."""

    id: int
    heartbeat_at: Any
    articles: int = 0


def crashed(session: Session) -> list[Abandoned]:
    """Return the batches not committed whose import is gone: lease run out, or owner's lock free."""
    cutoff = utcnow() - LEASE
    rows = session.execute(
        select(ImportBatch.id, ImportBatch.state, ImportBatch.heartbeat_at).where(
            ImportBatch.state != BatchState.COMMITTED.value
        )
    ).all()
    # A batch being discarded is taken up again: its cleaner may have died too, and
    # deleting twice at once does no harm.
    found = [
        Abandoned(batch_id, heartbeat)
        for batch_id, state, heartbeat in rows
        if state == BatchState.DISCARDING.value
        or heartbeat is None
        or heartbeat < cutoff
        or _owner_gone(session, batch_id)
    ]
    session.rollback()  # ends the probe's transaction, and with it any advisory lock it took
    return found


def _owner_gone(session: Session, batch_id: int) -> bool:
    """Return whether nothing holds the batch's owner lock (False when there is no way to tell)."""
    engine = _engine(session)
    if engine.dialect.name == "postgresql":
        return bool(
            session.execute(
                text("SELECT pg_try_advisory_xact_lock(:namespace, :batch)"),
                {"namespace": ADVISORY_NAMESPACE, "batch": batch_id},
            ).scalar_one()
        )
    path = _lock_path(engine, batch_id)
    if path is None:
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        # The owner makes the file before its batch is visible and removes it only after.
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the lock this probe may have taken
    return True


def clean_up_crashed(session: Session) -> list[Abandoned]:
    """Delete what crashed imports left behind; return their batches (with the articles deleted)."""
    found = crashed(session)
    engine = _engine(session)
    for batch in found:
        batch.articles = discard(session, batch.id)
        path = _lock_path(engine, batch.id) if engine.dialect.name == "sqlite" else None
        if path is not None:
            path.unlink(missing_ok=True)
    return found
