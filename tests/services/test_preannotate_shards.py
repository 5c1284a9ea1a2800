"""`preannotate --shard I/N`: N processes share one database's articles, none twice, none missed, each resumable."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from annotator.cli import main
from annotator.models import Article, Span
from annotator.services.preannotate import Shard, count_pending, preannotate
from tests.factories import make_article
from tests.phrase_ruler import expected_spans, phrase_ruler

ARTICLES = 41
TEXT = "Taliban fighters attacked Kabul on day {i}."


@pytest.fixture
def corpus(session):
    return [make_article(session, external_id=f"a{i}", text=TEXT.format(i=i)) for i in range(ARTICLES)]


def _model_spans_per_article(session) -> dict[int, int]:
    rows = session.exec(
        select(Span.article_id, func.count()).where(Span.origin == "model").group_by(Span.article_id)
    ).all()
    return dict(rows)


def _marked(session) -> int:
    return session.exec(
        select(func.count()).select_from(Article).where(Article.preannotated_with.is_not(None))
    ).one()


def _assert_each_article_done_once(session, corpus) -> None:
    session.expire_all()
    spans = _model_spans_per_article(session)
    assert spans == {article.id: len(expected_spans(article.text)) for article in corpus}
    assert _marked(session) == len(corpus)


def test_shards_split_the_articles_with_no_overlap_and_no_gap():
    parts = [Shard.parse(f"{i}/3") for i in (1, 2, 3)]
    ids = range(1, 1000)
    chosen = [{i for i in ids if i % shard.count == shard.index} for shard in parts]
    assert set().union(*chosen) == set(ids)
    assert sum(map(len, chosen)) == len(ids)


def test_two_shards_running_at_once_pre_annotate_every_article_exactly_once(engine, session, corpus):
    summaries, errors = {}, []

    def run(shard: str) -> None:
        try:
            with Session(engine) as own:
                summaries[shard] = preannotate(
                    own, nlp=phrase_ruler(), batch_size=4, shard=Shard.parse(shard)
                )
        except Exception as error:  # reported below, with the shard
            errors.append((shard, error))

    threads = [threading.Thread(target=run, args=(shard,)) for shard in ("1/2", "2/2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert summaries["1/2"].articles + summaries["2/2"].articles == ARTICLES
    assert {summaries["1/2"].articles, summaries["2/2"].articles} == {ARTICLES // 2, ARTICLES - ARTICLES // 2}
    assert "of shard 1/2" in summaries["1/2"].describe()
    _assert_each_article_done_once(session, corpus)


class Killed(Exception):
    """Stands for the process being killed between two batches."""


def test_a_killed_shard_resumes_where_it_stopped_and_leaves_the_other_shard_alone(session, corpus):
    first, second = Shard.parse("1/2"), Shard.parse("2/2")
    in_first = sum(1 for article in corpus if article.id % 2 == 0)
    batches = []

    def die_after_the_first_batch(done: int, total: int) -> None:
        batches.append(done)
        if len(batches) == 2:  # 0 at the start, then after the first committed batch
            raise Killed

    with pytest.raises(Killed):
        preannotate(
            session, nlp=phrase_ruler(), batch_size=5, shard=first, progress=die_after_the_first_batch
        )
    session.rollback()
    assert _marked(session) == 5
    assert count_pending(session, shard=first) == in_first - 5
    assert count_pending(session, shard=second) == ARTICLES - in_first

    resumed = preannotate(session, nlp=phrase_ruler(), batch_size=5, shard=first)
    assert resumed.articles == in_first - 5
    other = preannotate(session, nlp=phrase_ruler(), batch_size=5, shard=second)
    assert other.articles == ARTICLES - in_first
    _assert_each_article_done_once(session, corpus)
    assert (
        "Nothing to pre-annotate: every article of shard 1/2"
        in preannotate(session, nlp=phrase_ruler(), shard=first).describe()
    )


@pytest.mark.parametrize("value", ["0/2", "3/2", "2", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused_in_one_line(runner, value):
    result = runner.invoke(main, ["preannotate", "--shard", value])
    assert result.exit_code == 2
    assert "--shard" in result.output and "Traceback" not in result.output
