"""Measure the annotator's queue (Next, and the list page's "next article") as the articles get done.

Fills a fresh database per backend and team setting with N short articles,
then marks ever more of them done (0%, 50%, 90%, 99% by default: accepted, in
article order as a team works through a corpus, by ten annotators in turn),
and at each share times:

- peek, fresh: ``assignment.peek_next`` for an annotator who has done nothing;
- peek, mid-way: the same for one of the ten, who accepted a tenth of the done articles;
- claim, fresh: ``assignment.claim_next`` for an annotator with no claim (their claim is
  deleted, untimed, after each call, so every call claims);
- the old statement: the queue's candidate statement as it was before issue 12
  (scanning the articles in id order), kept here for comparison;
- the baseline: a primary-key lookup of one article, from the same run and database.

Two team settings: N = 1 (the team splits the corpus), and N = 2 with 10%
overlap (an overlap article is done with two accepts; a few just past the done
ones have one, so the queue has started articles to offer first). A few live
claims by others sit just past the done articles, as in a busy team.

It prints p50 / p99 with the ratio of each p50 to the baseline's and the old
statement's p50 to the new one's, the load average with each figure, and at
the highest share the plans of the queue's statements (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN on PostgreSQL).

    .venv/bin/python bench/queue_pick.py [--n 100000] [--done 0,50,90,99] [--times 100] [--no-postgres]

PostgreSQL: the server named by ANNOTATOR_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); a database of its own, dropped after.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    bindparam,
    delete,
    event,
    exists,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from annotator.models import AnnotationState, Article, User, utcnow
from annotator.services import assignment, users
from annotator.services.settings import load_settings, set_setting
from annotator.services.visibility import visible_articles
from bench.web import DEFAULT_POSTGRES_URL, postgres_database, sqlite_database, summary, timed

TEXT = "Taliban fighters attacked a checkpoint in Helmand province on day {n}, killing nine soldiers."
TEAM = 10  # annotators who do the done articles, in turn
CHUNK = 20_000
# Old statements are slow by design: time fewer of them.
OLD_TIMES = 20


def legacy_statement():
    """The queue's candidate statement before issue 12: each candidate scans the articles in id order."""

    def candidate(started: bool):
        article = Article.__table__.alias("candidate")
        mine = AnnotationState.__table__.alias("mine")
        others = assignment.holders_of(article.c.id)
        viewer_has_part = exists().where(
            mine.c.article_id == article.c.id,
            mine.c.user_id == bindparam("viewer_id"),
            or_(mine.c.status.in_(assignment.FINISHED), assignment.holds(mine)),
        )
        conditions = [
            ~viewer_has_part,
            article.c.id.not_in(bindparam("excluded", expanding=True)),
            visible_articles(article.c.import_batch_id),
        ]
        if started:
            conditions += [others > 0, others < assignment.required_of(article.c.id)]
        else:
            holder = AnnotationState.__table__.alias("anyone")
            conditions.append(~exists().where(holder.c.article_id == article.c.id, assignment.holds(holder)))
        return select(article.c.id).where(*conditions).order_by(article.c.id).limit(1).subquery()

    started, untouched = candidate(True), candidate(False)
    rank = literal_column("rank")
    return (
        union_all(
            select(started.c.id, literal(0).label("rank")), select(untouched.c.id, literal(1).label("rank"))
        )
        .order_by(rank)
        .limit(1)
    )


def fill_articles(engine: Engine, n: int) -> None:
    now = utcnow()
    with engine.begin() as connection:
        for start in range(1, n + 1, CHUNK):
            rows = []
            for number in range(start, min(start + CHUNK, n + 1)):
                text = TEXT.format(n=number)
                rows.append(
                    {
                        "id": number,
                        "external_id": f"bench-{number:07d}",
                        "text": text,
                        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                        "meta": {},
                        "imported_at": now,
                    }
                )
            connection.execute(insert(Article.__table__), rows)


def make_users(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        made = {
            name: users.create_user(session, name, "pw").id
            for name in ["fresh", "claimer", "busy", *(f"team-{k}" for k in range(TEAM))]
        }
        session.commit()
    return made


def state(article_id: int, user_id: int, status: str, when) -> dict:
    return {
        "article_id": article_id,
        "user_id": user_id,
        "status": status,
        "version": 1,
        "created_at": when,
        "updated_at": when,
        "claimed_at": when,
    }


def mark_done(engine: Engine, team: list[int], first: int, last: int, *, overlap) -> None:
    """Accept articles first..last: one accept each, two for overlap articles (when ``overlap`` is given)."""
    now = utcnow()
    with engine.begin() as connection:
        for start in range(first, last + 1, CHUNK):
            rows = []
            for article_id in range(start, min(start + CHUNK, last + 1)):
                turn = article_id % len(team)
                rows.append(state(article_id, team[turn], "accepted", now))
                if overlap is not None and overlap(article_id):
                    rows.append(state(article_id, team[(turn + 1) % len(team)], "accepted", now))
            connection.execute(insert(AnnotationState.__table__), rows)
    analyze(engine)


def add_work_in_progress(engine: Engine, busy: int, team: list[int], done: int, n: int, *, overlap) -> None:
    """Live claims by another annotator just past the done articles, and half-done overlap articles."""
    now = utcnow()
    rows = [
        state(article_id, busy, "in_progress", now) for article_id in range(done + 1, min(done + 21, n + 1))
    ]
    if overlap is not None:
        half_done = [a for a in range(done + 21, min(done + 2000, n + 1)) if overlap(a)][:20]
        rows += [state(a, team[a % len(team)], "accepted", now) for a in half_done]
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(AnnotationState.__table__), rows)


def clear_work_in_progress(engine: Engine, busy: int, done: int, n: int) -> None:
    """Delete what add_work_in_progress wrote (the next share's accepts replace it)."""
    with engine.begin() as connection:
        connection.execute(delete(AnnotationState.__table__).where(AnnotationState.user_id == busy))
        connection.execute(
            delete(AnnotationState.__table__).where(
                AnnotationState.article_id > done + 20, AnnotationState.article_id <= min(done + 2000, n)
            )
        )


def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


def print_plans(session: Session, values: dict) -> None:
    engine = session.get_bind()
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def prefixed(conn, cursor, statement, parameters, context, executemany):
        return explain + statement, parameters

    for name, statement in (
        ("started", assignment._started_statement()),
        ("untouched", assignment._untouched_statement()),
    ):
        event.listen(engine, "before_cursor_execute", prefixed, retval=True)
        try:
            rows = session.execute(statement, values).all()
        finally:
            event.remove(engine, "before_cursor_execute", prefixed)
        print(f"    plan of the {name} candidate:")
        for row in rows:
            print("      " + str(row[-1] if engine.dialect.name == "sqlite" else row[0]))


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def report(label: str, samples: list[float], baseline: float, extra: str = "") -> float:
    p50, p99 = summary(samples)
    print(
        f"    {label:<22} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms  {p50 / baseline:7.1f}x the PK lookup{extra}  (load {load()})"
    )
    return p50


def measure(name: str, engine: Engine, ids: dict[str, int], n: int, times: int, done_share: float) -> None:
    with Session(engine) as session:
        settings = load_settings(session)
        fresh, mid = session.get(User, ids["fresh"]), session.get(User, ids["team-0"])
        claimer = session.get(User, ids["claimer"])
        pk = select(Article.__table__.c.external_id).where(Article.__table__.c.id == n // 2)
        old = legacy_statement()
        params = assignment.claim_params(settings)

        reads: dict[str, Callable[[], object]] = {
            "peek, fresh": lambda: assignment.peek_next(session, fresh, settings),
            "peek, mid-way": lambda: assignment.peek_next(session, mid, settings),
        }
        session.execute(pk).scalar()
        baseline = summary(timed(lambda: session.execute(pk).scalar(), times))[0]
        print(f"  {name}, {done_share:g}% done: PK lookup p50 {baseline:.3f} ms (load {load()})")
        for label, read in reads.items():
            read()
            report(label, timed(read, times), baseline)
        # A claim's time, without the untimed delete (of the claim) that follows it.
        samples = []
        for _ in range(times):
            started = time.perf_counter()
            assignment.claim_next(session, claimer, settings)
            samples.append(time.perf_counter() - started)
            session.execute(delete(AnnotationState.__table__).where(AnnotationState.user_id == claimer.id))
            session.commit()
        report("claim, fresh", samples, baseline)
        values = {**params, "viewer_id": fresh.id, "excluded": [-1]}
        new_statement = assignment._first_candidate_statement()
        new_values = assignment.queue_values(params, fresh.id)
        new_p50 = summary(timed(lambda: session.execute(new_statement, new_values).scalar(), times))[0]
        old_samples = timed(lambda: session.execute(old, values).scalar(), min(times, OLD_TIMES))
        report(
            "old statement, fresh",
            old_samples,
            baseline,
            f", {summary(old_samples)[0] / new_p50:7.1f}x the new",
        )
        session.rollback()


def bench(
    name: str,
    engine: Engine,
    n: int,
    shares: list[float],
    times: int,
    *,
    overlap_coverage: float,
    plans: bool,
) -> None:
    started = time.perf_counter()
    fill_articles(engine, n)
    ids = make_users(engine)
    team = [ids[f"team-{k}"] for k in range(TEAM)]
    overlap = None
    if overlap_coverage:
        with Session(engine) as session:
            set_setting(session, "annotators_per_article", "2")
            set_setting(session, "overlap_coverage", f"{overlap_coverage:g}")
            set_setting(session, "claim_timeout", "1d")
            settings = load_settings(session)

        def overlap(article_id: int, required=settings.required) -> bool:
            return required(article_id) > 1

    analyze(engine)
    setting = f"N = 2, {overlap_coverage:g}% overlap" if overlap_coverage else "N = 1"
    print(f"{name}, {setting}: {n:,} articles ({time.perf_counter() - started:.1f} s to fill)")
    done = 0
    for share in shares:
        target = int(n * share / 100)
        if target > done:
            clear_work_in_progress(engine, ids["busy"], done, n)
            filling = time.perf_counter()
            mark_done(engine, team, done + 1, target, overlap=overlap)
            print(f"  ({target - done:,} more done in {time.perf_counter() - filling:.1f} s)")
            done = target
        add_work_in_progress(engine, ids["busy"], team, done, n, overlap=overlap)
        measure(name, engine, ids, n, times, share)
        if plans or share in (shares[0], shares[-1]):
            with Session(engine) as session:
                settings = load_settings(session)
                print_plans(session, assignment.queue_values(assignment.claim_params(settings), ids["fresh"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles (default 100000)")
    parser.add_argument("--done", default="0,50,90,99", help="shares done, in percent (default 0,50,90,99)")
    parser.add_argument("--times", type=int, default=100, help="timed calls per figure (default 100)")
    parser.add_argument(
        "--overlap", type=float, default=10, help="overlap share with N = 2, percent (default 10)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--plans", action="store_true", help="print the plans at every share, not the first and last"
    )
    args = parser.parse_args()
    shares = sorted(float(each) for each in args.done.split(","))
    users.PASSWORD_METHOD = "scrypt:1024:8:1"
    for coverage in (0, args.overlap):
        with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
            with sqlite_database(Path(folder)) as (engine, _url):
                bench(
                    "SQLite", engine, args.n, shares, args.times, overlap_coverage=coverage, plans=args.plans
                )
        if args.no_postgres:
            continue
        postgres = postgres_database(os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        if postgres is not None:
            with postgres as (engine, _url):
                bench(
                    "PostgreSQL",
                    engine,
                    args.n,
                    shares,
                    args.times,
                    overlap_coverage=coverage,
                    plans=args.plans,
                )
    sys.exit(0)


if __name__ == "__main__":
    main()
