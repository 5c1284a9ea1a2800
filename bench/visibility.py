"""Measure what the visibility condition costs the reads it guards, on SQLite and PostgreSQL.

Fills a fresh database per backend with N short articles: the first half
accepted by an annotator (so the queue has to pass over them), the rest
untouched, and a further tenth of N written by an import still running (its
batch "importing", the articles at the highest ids, as a streamed import
writes them). Then times, with the condition and without it (the baseline,
from the same run and database: the same code with the condition replaced by
TRUE), each read that a page or the queue makes:

- queue: the article Next would give a fresh annotator (``assignment.peek_next``);
- page by id / by external id: the article page's workspace (a reviewer's read, writing nothing);
- progress: the top bar's three counts;
- review counts: the reviewers' top-bar counts.

It prints the query plans of the queue's and the article page's statements
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL), to show that the
condition keeps their index lookups, and the load average with each figure.

    .venv/bin/python bench/visibility.py [--n 100000] [--times 200]

PostgreSQL: the server named by ANNOTATOR_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); a database of its own, dropped after.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, insert, true
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from annotator.models import AnnotationState, Article, BatchState, ImportBatch, User, utcnow
from annotator.services import assignment, progress, review_queue, users, workspace
from annotator.services.settings import load_settings
from bench.web import DEFAULT_POSTGRES_URL, postgres_database, sqlite_database, summary, timed

TEXT = "Taliban fighters attacked a checkpoint in Helmand province on day {n}, killing nine soldiers."
# The modules whose statements hold the condition, and so are rebuilt without it for the baseline.
GUARDED = (assignment, workspace, progress, review_queue)


def fill(engine: Engine, n: int) -> tuple[int, int]:
    """Insert the articles, states and the running import; return the ids of the done user and a fresh one."""
    now = utcnow()
    pending = max(n // 10, 1)
    with Session(engine) as session:
        done = users.create_user(session, "done", "pw")
        fresh = users.create_user(session, "fresh", "pw")
        reviewer = users.create_user(session, "rev", "pw", role="reviewer")
        batch = ImportBatch(channel="cli", origin="bench", files=[], state=BatchState.IMPORTING.value)
        session.add(batch)
        session.commit()
        ids = (done.id, fresh.id, reviewer.id, batch.id)
    done_id, fresh_id, reviewer_id, batch_id = ids
    articles, states = [], []
    for number in range(1, n + pending + 1):
        text = TEXT.format(n=number)
        articles.append(
            {
                "id": number,
                "external_id": f"bench-{number:07d}",
                "text": text,
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                "meta": {},
                "imported_at": now,
                "import_batch_id": batch_id if number > n else None,
            }
        )
        if number <= n // 2:
            states.append(
                {
                    "article_id": number,
                    "user_id": done_id,
                    "status": "accepted",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "claimed_at": now,
                }
            )
    with engine.begin() as connection:
        for start in range(0, len(articles), 20_000):
            connection.execute(insert(Article.__table__), articles[start : start + 20_000])
        for start in range(0, len(states), 20_000):
            connection.execute(insert(AnnotationState.__table__), states[start : start + 20_000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    return fresh_id, reviewer_id


@contextmanager
def without_condition() -> Iterator[None]:
    """Replace the condition by TRUE in the guarded modules (and rebuild their cached statements)."""
    saved = {}
    for module in GUARDED:
        for name in ("visible_articles", "visible_article_id"):
            if hasattr(module, name):
                saved[(module, name)] = getattr(module, name)
                setattr(module, name, lambda *args: true())
    _clear_caches()
    try:
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)
        _clear_caches()


def _clear_caches() -> None:
    for module in GUARDED:
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


def plans(session: Session, n: int) -> None:
    """Print the plans of the queue's candidate statement and the article page's statement."""
    params = {**assignment.claim_params(load_settings(session)), "owner_id": 2, "viewer_id": 2}
    statements = {
        "queue candidate": (assignment._first_candidate_statement(), assignment.queue_values(params, 2)),
        "page by external id": (
            workspace._workspace_statement(by_id=False),
            {**params, "key": f"bench-{n // 2 + 1:07d}"},
        ),
    }
    engine = session.get_bind()
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def prefixed(conn, cursor, statement, parameters, context, executemany):
        return explain + statement, parameters

    for name, (statement, values) in statements.items():
        event.listen(engine, "before_cursor_execute", prefixed, retval=True)
        try:
            rows = session.execute(statement, values).all()
        finally:
            event.remove(engine, "before_cursor_execute", prefixed)
        print(f"  plan of {name}:")
        for row in rows:
            print("    " + str(row[-1] if engine.dialect.name == "sqlite" else row[0]))


def bench(name: str, engine: Engine, n: int, times: int) -> None:
    fresh_id, reviewer_id = fill(engine, n)
    with Session(engine) as session:
        fresh, reviewer = session.get(User, fresh_id), session.get(User, reviewer_id)
        settings = load_settings(session)
        article_id = n // 2 + 1
        external_id = f"bench-{article_id:07d}"
        reads: dict[str, Callable[[], object]] = {
            "queue": lambda: assignment.peek_next(session, fresh, settings),
            "page by id": lambda: workspace.load_workspace(session, article_id, reviewer, settings=settings),
            "page by external id": lambda: workspace.open_article(
                session, external_id, reviewer, settings=settings
            ),
            "progress": lambda: progress.progress(session, fresh.id, settings),
            "review counts": lambda: review_queue.counts(session),
        }
        assert reads["queue"]() == external_id, "the queue must skip the accepted half"
        count = session.exec(select(Article.id).where(Article.import_batch_id.is_not(None))).all()
        print(f"{name}: {n:,} visible articles, {len(count):,} of an import still running")
        plans(session, n)
        for label, read in reads.items():
            read()  # warm up
            with without_condition():
                read()
                baseline = summary(timed(read, times))
            measured = summary(timed(read, times))
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(
                f"  {label:<20} p50 {measured[0]:7.3f} ms  p99 {measured[1]:7.3f} ms   without the condition "
                f"p50 {baseline[0]:7.3f} ms  p99 {baseline[1]:7.3f} ms   ratio p50 {measured[0] / baseline[0]:5.2f}x"
                f"   (load {load})"
            )
        session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="visible articles (default 100000)")
    parser.add_argument("--times", type=int, default=200, help="timed calls per read (default 200)")
    args = parser.parse_args()
    users.PASSWORD_METHOD = "scrypt:1024:8:1"
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        with sqlite_database(Path(folder)) as (engine, _url):
            bench("SQLite", engine, args.n, args.times)
    postgres = postgres_database(os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if postgres is not None:
        with postgres as (engine, _url):
            bench("PostgreSQL", engine, args.n, args.times)
    sys.exit(0)


if __name__ == "__main__":
    main()
