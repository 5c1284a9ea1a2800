"""Time the article list's queries at N articles (default 100,000), on SQLite and PostgreSQL.

Builds N articles of about 120 words each (``--words``; a Zipf-like
vocabulary, so some words are in most articles and some in a few), one annotator with a status on
2% of them and a flag on 0.1%, through the migrations (so the full-text index
and counters are the real ones). Then times, through services/articles.py (no
HTTP: bench/scale.py measures the pages through gunicorn):

- the list page deep in the corpus (keyset), next to the OFFSET query the list
  used before, at the same depth: the baseline; and the list page from a
  random place, a new one each time, as bench/scale.py asks for it;
- each filter (status, todo, annotator, open flag), a search for a common word,
  a rare word and an id prefix;
- the counts of the top bar and the list (visible articles, this user's statuses),
  next to ``count(*)`` of the visible articles (the other baseline) and of
  all articles (the count before imports had a visibility).

Prints p50 and p99 in ms, their ratio to the baseline, the load average, and
on SQLite the KiB the process read per call (the database file's pages that
were not in SQLite's cache; 4 KiB a page).
``--explain`` prints each query plan. Keep N small while the machine is shared;
the lead measures at a million on a quiet machine. ``--words 700`` builds
articles of bench/scale.py's size (600-800 words), whose rows SQLite stores
partly on an overflow page: about 7 KB per article on disk with the
full-text index, 0.75 GB at 100,000. ``--batch 2`` stores every article in
import batch 2 (batches 1 and 2 committed), as any article from the second
import on is: SQLite stores the batch id after the text, and a batch id of 2 or
more (0 and 1 are stored in the record's header) lies on the text's overflow
page (default: no batch, as articles imported before imports were recorded).

    PYTHONPATH=. .venv/bin/python bench/article_list.py [--articles 100000] [--words 120] [--repeat 50]
        [--batch 2] [--postgres postgresql://postgres@127.0.0.1:5432/postgres | --no-postgres] [--explain]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.db import make_engine, upgrade  # noqa: E402
from annotator.models import AnnotationState, Article, ImportBatch, User  # noqa: E402
from annotator.services import articles, progress, visibility  # noqa: E402
from annotator.services.articles import ListFilters  # noqa: E402
from annotator.services.settings import ProjectSettings  # noqa: E402
from annotator.services.visibility import visible_articles  # noqa: E402
from bench.web import postgres_database  # noqa: E402

VOCABULARY = [f"word{n}" for n in range(5000)]
COMMON, RARE = "word0", "word4000"
WORDS_PER_ARTICLE = 120
CHUNK = 5000
SETTINGS = ProjectSettings()


def build(
    session: Session, n: int, *, words: int = WORDS_PER_ARTICLE, batch: int | None = None, seed: int = 1
) -> User:
    """Store ``n`` articles of ``words`` words and one annotator with some work and flags; return the annotator.

    ``batch``: the import batch of every article (batches 1 to ``batch`` are
    stored, committed); None: no batch.
    """
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
    session.execute(insert(User.__table__), [{"username": "ann", "password_hash": "-", "role": "annotator"}])
    session.execute(insert(User.__table__), [{"username": "rev", "password_hash": "-", "role": "reviewer"}])
    if batch is not None:
        batches = [
            {"id": number, "channel": "cli", "origin": "bench", "files": [], "summary": {}}
            for number in range(1, batch + 1)
        ]
        session.execute(insert(ImportBatch.__table__), batches)
    for start in range(0, n, CHUNK):
        rows = [
            {
                "external_id": f"src{number % 7}/{number:07d}",
                "text": " ".join(rng.choices(VOCABULARY, weights, k=words)),
                "content_hash": "-",
                "meta": {},
                "import_batch_id": batch,
            }
            for number in range(start, min(n, start + CHUNK))
        ]
        session.execute(insert(Article.__table__), rows)
        session.commit()
    states = [
        {"article_id": article, "user_id": 1, "status": "flagged" if article % 1000 == 7 else "accepted"}
        for article in range(1, n + 1)
        if article % 50 == 3 or article % 1000 == 7
    ]
    session.execute(insert(AnnotationState.__table__), states)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # What autovacuum does soon after a large import. SQLite is left unanalysed, as the app leaves it.
        session.connection().exec_driver_sql("ANALYZE")
        session.commit()
    return session.get(User, 1)


def old_offset_page(session: Session, user_id: int, offset: int) -> None:
    """The list's former query shape: OFFSET paging over every article (the baseline)."""
    statement = (
        select(Article.external_id, func.substr(Article.text, 1, 160), AnnotationState.status)
        .outerjoin(
            AnnotationState,
            (AnnotationState.article_id == Article.id) & (AnnotationState.user_id == user_id),
        )
        .order_by(Article.id)
        .limit(100)
        .offset(offset)
    )
    session.execute(statement).all()


def bytes_read() -> int:
    """Return the bytes this process has read so far (Linux: read system calls, from the page cache or not)."""
    with open("/proc/self/io") as counters:
        return next(int(line.split()[1]) for line in counters if line.startswith("rchar:"))


def timed(call, repeat: int) -> tuple[float, float, float]:
    """Return the p50 and p99 of ``call`` in ms, and the KiB it read per call."""
    samples = []
    before = bytes_read()
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    read = (bytes_read() - before) / repeat / 1024
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))], read


def explain(session: Session, statement, params: dict | None = None) -> str:
    dialect = session.get_bind().dialect
    # The limit and the search values are rendered into the statement (literal_execute).
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params(params or {})
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup)
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    rows = session.connection().exec_driver_sql(prefix + str(compiled), values).all()
    return "\n".join("    " + " | ".join(str(value) for value in row) for row in rows)


def run(
    engine,
    label: str,
    n: int,
    repeat: int,
    show_plans: bool,
    *,
    words: int = WORDS_PER_ARTICLE,
    batch: int | None = None,
) -> None:
    with Session(engine) as session:
        started = time.perf_counter()
        ann = build(session, n, words=words, batch=batch)
        rev = session.get(User, 2)
        print(
            f"\n{label}: {n:,} articles of {words} words, import batch {batch}, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
        middle = n // 2
        places = random.Random(2)

        def rows_somewhere() -> None:
            """The list page's second query (its columns), for the hundred articles from a random id."""
            first = places.randrange(1, max(2, n - 100))
            articles._rows(session, list(range(first, first + 100)), ann.id, SETTINGS)

        cases = {
            "list page, OFFSET (before; baseline)": lambda: old_offset_page(session, ann.id, middle),
            "list page, keyset": lambda: articles.list_page(session, ann, SETTINGS, after=middle),
            # A page no earlier repeat read, so its rows come from the file, not SQLite's cache.
            "list page, keyset, from a random place": lambda: articles.list_page(
                session, ann, SETTINGS, after=places.randrange(max(1, n - 100))
            ),
            "  its rows alone (ids known), a random place": rows_somewhere,
            "status accepted": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(status="accepted"), after=middle
            ),
            "status todo": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(status="todo"), after=middle
            ),
            "annotator (reviewer)": lambda: articles.list_page(
                session, rev, SETTINGS, ListFilters(annotator="ann"), after=middle
            ),
            "open flag (reviewer)": lambda: articles.list_page(
                session, rev, SETTINGS, ListFilters(flagged=True)
            ),
            f"search common word ({COMMON})": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(search=COMMON)
            ),
            f"search rare word ({RARE})": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(search=RARE)
            ),
            "search two words": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(search="word3 word200")
            ),
            "search id prefix (src3/00012)": lambda: articles.list_page(
                session, ann, SETTINGS, ListFilters(search="src3/00012")
            ),
            "count(*) of visible articles (baseline)": lambda: session.execute(
                select(func.count()).select_from(Article).where(visible_articles())
            ).scalar_one(),
            "count(*) of all articles (before)": lambda: session.execute(
                select(func.count()).select_from(Article)
            ).scalar_one(),
            "top bar (progress: articles, mine, team)": lambda: progress.progress(session, ann.id, SETTINGS),
            "count by status (with the top bar's total)": lambda: articles.count_by_status(
                session, ann.id, total=n
            ),
        }
        baseline = {"list": None, "count": None}
        # SQLite reads the database file in this process; PostgreSQL's reads are the server's.
        reads = label == "SQLite"
        print(
            f"{'query':<45} {'p50 ms':>8} {'p99 ms':>8} {'x base':>7}  load" + ("  KiB read" if reads else "")
        )
        for name, call in cases.items():
            call()  # warm the caches
            p50, p99, read = timed(call, repeat)
            kind = "count" if "count" in name or "top bar" in name else "list"
            if "baseline" in name:
                baseline[kind] = p50
            ratio = f"{p50 / baseline[kind]:6.2f}x" if baseline[kind] else "      -"
            load = os.getloadavg()[0]
            print(
                f"{name:<45} {p50:8.2f} {p99:8.2f} {ratio:>7}  {load:.2f}"
                + (f"  {read:8.1f}" if reads else "")
            )
        if show_plans:
            show(session, ann, rev)


def show(session: Session, ann: User, rev: User) -> None:
    """Print the plan of each query the list runs (the page's ids; the counts)."""
    from annotator.services.articles import (
        _ARTICLES,
        _LISTED_ID,
        _LISTING,
        _filters,
        _id_prefix,
        _walk_of,
        _walk_statement,
    )

    filters = {
        "list": (ann, ListFilters()),
        "status accepted": (ann, ListFilters(status="accepted")),
        "status todo": (ann, ListFilters(status="todo")),
        "annotator": (rev, ListFilters(annotator="ann")),
        "open flag": (rev, ListFilters(flagged=True)),
    }
    for name, (viewer, each) in filters.items():
        who = ann if each.annotator else viewer
        key, statement = _walk_of(_filters(viewer, who, each))
        print(f"\n  plan: {name}\n{explain(session, _walk_statement(key, statement, [], 1000, None, 101))}")
    conditions = _filters(ann, ann, ListFilters())
    words = articles._word_statement(session, [COMMON], conditions, None, None, 101)
    print(f"\n  plan: search words\n{explain(session, words)}")
    prefix = _walk_statement(
        _ARTICLES.c.id,
        select(_LISTED_ID).select_from(_ARTICLES.join(_LISTING, _ARTICLES.c.id == _LISTED_ID)),
        [*conditions, *_id_prefix(session, "src3/00012")],
        None,
        None,
        101,
    )
    print(f"\n  plan: search id prefix (few matches)\n{explain(session, prefix)}")
    print(f"\n  plan: visible articles count\n{explain(session, select(visibility.count_visible()))}")
    params = {"user_id": ann.id, "n": 1, "coverage": 0}
    print(f"\n  plan: progress\n{explain(session, progress._progress_statement(), params)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--words", type=int, default=WORDS_PER_ARTICLE, help="words per article")
    parser.add_argument("--batch", type=int, help="store every article in this import batch (default: none)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        run(
            engine,
            "SQLite",
            options.articles,
            options.repeat,
            options.explain,
            words=options.words,
            batch=options.batch,
        )
        engine.dispose()
    if options.no_postgres:
        return
    database = postgres_database(options.postgres)
    if database is not None:
        with database as (engine, _url):
            run(
                engine,
                "PostgreSQL",
                options.articles,
                options.repeat,
                options.explain,
                words=options.words,
                batch=options.batch,
            )


if __name__ == "__main__":
    main()
