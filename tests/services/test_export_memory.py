"""Exports hold a bounded amount whatever the corpus: rows come in chunks, the tokenizer's vocabulary is renewed.

Memory itself is not measured here (bench/export_memory.py does that): every
query an export sends is counted, with the rows it returns, so that reading
all articles or all spans at once, or a query per article, fails a test.
"""

from __future__ import annotations

import io
import random

import pytest
from sqlalchemy import event
from sqlmodel import select

from annotator.models import AnnotationState, Article, GoldRevision, Span, User
from annotator.services import export as export_service
from annotator.services import formats
from annotator.services.export import export, export_to, split_ids
from annotator.services.export_stream import prepare
from annotator.services.origins import parse_origin
from tests.factories import make_article, make_span, make_user
from tests.test_cli_export import NINE, TEXT

CHUNK = 8
# Each article has three spans of each origin.
ROWS_PER_ARTICLE = 3
# The most queries one round of CHUNK articles may send (gold: articles, revisions, spans, accepted versions;
# and for a format that writes a tally, JSONL or tally CSV, the articles' stored cues).
QUERIES_PER_ROUND = 5


class QueryCounter:
    """Count the queries a session sends and the rows each returns."""

    def __init__(self, session) -> None:
        self.rows: list[int] = []
        event.listen(session, "do_orm_execute", self._count)

    def _count(self, state):
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        self.rows.append(len(frozen().all()))
        return frozen()


def _corpus(session, first: int, count: int) -> None:
    """Add ``count`` articles, each with three gold spans (and a gold revision), model spans and ann's spans."""
    annotator = session.exec(select(User).where(User.username == "ann")).first() or make_user(
        session, username="ann"
    )
    for index in range(first, first + count):
        article = make_article(session, external_id=f"g{index:03d}", text=TEXT)
        spans = [
            {"start": start, "end": end, "label": label, "attrs": attrs}
            for start, end, label, attrs in (
                (0, 16, "ACTOR", {}),
                (24, 37, "CASUALTY", NINE),
                (41, 57, "LOCATION", {}),
            )
        ]
        for origin, owner_id in (("gold", None), ("model", None), ("annotator", annotator.id)):
            session.add_all(
                Span(article_id=article.id, origin=origin, owner_id=owner_id, **span) for span in spans
            )
        session.add(GoldRevision(article_id=article.id, revision=1, action="import", spans=spans))
        article.preannotated_with = "test"
    session.commit()


def _export_file(session, tmp_path, origin: str, format_: str, dev: float) -> None:
    export(session, origin, tmp_path / "out", format_=format_, dev=dev)


def _export_stream(session, tmp_path, origin: str, format_: str, dev: float) -> None:
    for _ in prepare(session, origin, format_, dev=dev).stream():
        pass


@pytest.mark.parametrize("run", [_export_file, _export_stream], ids=["file", "stream"])
@pytest.mark.parametrize("dev", [0.0, 0.25], ids=["whole", "split"])
@pytest.mark.parametrize("format_", ["jsonl", "spacy", "conll", "csv", "tally"])
@pytest.mark.parametrize("origin", ["gold", "model", "annotator:ann"])
def test_no_query_of_an_export_reads_more_than_one_chunk_or_runs_per_article(
    db_session, tmp_path, monkeypatch, run, dev, format_, origin
):
    monkeypatch.setattr(export_service, "READ_CHUNK", CHUNK)
    queries = []
    for first in (0, 2 * CHUNK):
        # 2 * CHUNK articles, then twice as many.
        _corpus(db_session, first, 2 * CHUNK)
        counter = QueryCounter(db_session)
        run(db_session, tmp_path, origin, format_, dev)
        event.remove(db_session, "do_orm_execute", counter._count)
        db_session.rollback()
        assert max(counter.rows) <= CHUNK * ROWS_PER_ARTICLE, counter.rows
        queries.append(len(counter.rows))
    # Twice the articles take two more rounds of each pass over them (the split's pass over
    # ids, the stream's counting pass): a few queries per round, never one per article.
    passes = (2 if run is _export_stream else 1) + (1 if dev else 0)
    assert queries[1] - queries[0] <= passes * 2 * QUERIES_PER_ROUND < passes * 2 * CHUNK


def test_every_accepted_version_is_read_a_chunk_at_a_time(db_session, tmp_path, monkeypatch):
    monkeypatch.setattr(export_service, "READ_CHUNK", CHUNK)
    _corpus(db_session, 0, 3 * CHUNK)
    bob = make_user(db_session, username="bob")
    for article in db_session.exec(select(Article)).all():
        db_session.add(
            Span(article_id=article.id, start=0, end=7, label="ACTOR", origin="annotator", owner_id=bob.id)
        )
        for user_id in (article_owner(db_session, "ann"), bob.id):
            db_session.add(AnnotationState(article_id=article.id, user_id=user_id, status="accepted"))
    db_session.commit()
    counter = QueryCounter(db_session)

    summary = export(db_session, "annotators", tmp_path / "all.jsonl")

    assert summary.written == {"all": 2 * 3 * CHUNK}
    # ann's three spans and bob's one for each article of a chunk.
    assert max(counter.rows) <= CHUNK * 4, counter.rows
    assert len(counter.rows) <= 3 * (QUERIES_PER_ROUND + 1) < 3 * CHUNK


def article_owner(session, username: str) -> int:
    return session.exec(select(User.id).where(User.username == username)).one()


def _old_split(ids: list[int], dev: float, *, seed: int = 0) -> set[int]:
    """The split as it was: a shuffled list of every id."""
    if not ids or dev <= 0:
        return set()
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    size = round(len(shuffled) * dev)
    if len(shuffled) >= 2:
        size = min(max(size, 1), len(shuffled) - 1)
    return set(shuffled[:size])


@pytest.mark.parametrize("seed", [0, 1, 42])
@pytest.mark.parametrize("dev", [0.0, 0.01, 0.2, 0.5, 0.9])
def test_split_puts_the_same_articles_in_dev_as_a_shuffled_list_did(seed, dev):
    rng = random.Random(seed)
    for size in (0, 1, 2, 3, 10, 257, 2000):
        ids = sorted(rng.sample(range(1, 10 * size + 2), size))
        expected = _old_split(ids, dev, seed=seed)
        found = split_ids(ids, dev, seed=seed)
        assert len(found) == len(expected)
        assert set(found) == expected
        assert all((each in found) == (each in expected) for each in range(0, 10 * size + 3))
        # Ids in another order split the same way.
        assert set(split_ids(list(reversed(ids)), dev, seed=seed)) == expected


def test_the_tokenizers_vocabulary_is_renewed_before_it_outgrows_its_bound(db_session, monkeypatch):
    # Every article holds words no other does, as names and numbers do in a large corpus.
    for index in range(40):
        words = " ".join(f"w{index}x{number}" for number in range(30))
        article = make_article(db_session, external_id=f"u{index:03d}", text=f"Kabul said {words}.")
        make_span(db_session, article, start=0, end=5, label="LOCATION")
    owner = parse_origin(db_session, "gold")
    # A fresh blank pipeline already knows about 1,300 strings.
    bound = len(formats._build_blank_pipeline().vocab.strings) + 200
    sizes = []

    class Measuring(formats.JsonlWriter):
        def write(self, document, doc) -> None:
            sizes.append(len(doc.vocab.strings))
            super().write(document, doc)

    unbounded = io.StringIO()
    export_to(db_session, owner, {"all": unbounded})
    monkeypatch.setattr(formats, "MAX_STRINGS", bound)
    bounded = io.StringIO()
    export_to(db_session, owner, {"all": bounded}, make_writer=Measuring)

    # Each article adds about 35 strings; without renewal the last would see 1,400 more than the first.
    assert max(sizes) < bound + 50
    assert any(later < earlier for earlier, later in zip(sizes, sizes[1:], strict=False))
    assert bounded.getvalue() == unbounded.getvalue()
