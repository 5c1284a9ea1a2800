"""Time the review queue's pages at N articles (default 10,000), each accepted by three annotators.

Every article gets about five spans per annotator, with random boundaries and
labels so that agreement varies, and its stored counts (services/version_counts),
all in a fresh SQLite database (or the empty database ``--url`` names). Then
it times the first and second page of the queue (lowest agreement first),
with each filter, the next article for a reviewer and the top bar's count,
and prints the milliseconds of each. On the development machine, at 10,000
articles: about 0.35 s a page on SQLite and 0.3 s on PostgreSQL (freshly
loaded, before any ANALYZE); the top bar's count 30 to 90 ms.

    PYTHONPATH=. .venv/bin/python bench/review_queue.py [--n 10000] [--url URL]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from annotator.db import make_engine
from annotator.models import AnnotationState, Article, Span, User
from annotator.services import review_queue, version_counts

ANNOTATORS = 3
LABELS = ("ACTOR", "LOCATION", "CASUALTY")


def build(session: Session, n: int, seed: int = 1) -> None:
    """Store ``n`` articles, three annotators and their accepted versions, and count them."""
    rng = random.Random(seed)
    session.execute(
        insert(User.__table__),
        [{"username": f"u{i}", "password_hash": "-", "role": "annotator"} for i in range(ANNOTATORS)],
    )
    session.execute(
        insert(Article.__table__),
        [{"external_id": f"a{i}", "text": "x" * 200, "content_hash": "-", "meta": {}} for i in range(n)],
    )
    users = range(1, ANNOTATORS + 1)
    session.execute(
        insert(AnnotationState.__table__),
        [
            {"article_id": article, "user_id": user, "status": "accepted", "version": 1}
            for article in range(1, n + 1)
            for user in users
        ],
    )
    spans = [
        {
            "article_id": article,
            "start": slot * 30,
            "end": slot * 30 + rng.choice((5, 5, 5, 6)),
            "label": rng.choice(LABELS),
            "attrs": {},
            "origin": "annotator",
            "owner_id": user,
        }
        for article in range(1, n + 1)
        for user in users
        for slot in range(6)
        if rng.random() < 0.8
    ]
    session.execute(insert(Span.__table__), spans)
    version_counts.count_articles(session, range(1, n + 1))
    session.commit()


def _time(what: str, call) -> object:
    start = time.perf_counter()
    result = call()
    print(f"{what:<45} {(time.perf_counter() - start) * 1000:7.0f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--url", help="an empty database to fill (default: a temporary SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(options.url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            _time(f"building {options.n} articles x {ANNOTATORS}", lambda: build(session, options.n))
            for filters in (
                review_queue.Filters(),
                review_queue.Filters(label="CASUALTY"),
                review_queue.Filters(annotator="u1"),
            ):
                page = _time(f"first page {filters}", lambda f=filters: review_queue.articles(session, f))
                _time(
                    "  second page",
                    lambda f=filters, p=page: review_queue.articles(session, f, after=p.next_cursor),
                )
            _time("next article", lambda: review_queue.first_waiting(session, 1))
            _time("top bar count", lambda: review_queue.counts(session))
        engine.dispose()


if __name__ == "__main__":
    main()
