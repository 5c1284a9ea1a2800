"""An import's articles stay out of every service until its batch is committed, then show up in each.

Each test runs twice on each database: with the batch "importing" the pending
articles must be found nowhere; with it "committed" the same calls must find
them, which proves each assertion can fail.
"""

from __future__ import annotations

import csv
import json

import pytest
from sqlmodel import select

from annotator.errors import NotFound
from annotator.models import Article, BatchState
from annotator.services import (
    agreement,
    article_data,
    assignment,
    curation,
    dashboard,
    deletion,
    feedback,
    flags,
    gold_revisions,
    review_queue,
    workspace,
)
from annotator.services.accuracy import accuracy_report
from annotator.services.evaluate import read_source
from annotator.services.export import export
from annotator.services.formats import SUFFIXES, WRITERS, read_docbin
from annotator.services.preannotate import Shard, count_pending, preannotate
from annotator.services.predictions import store_predictions
from annotator.services.progress import progress
from annotator.services.settings import load_settings
from annotator.services.visibility import find_article, get_visible, visible_article_id
from tests.phrase_ruler import phrase_ruler
from tests.visibility_world import PENDING, PREANNOTATED, SHOWN, build_world, set_batch_state

STATES = [BatchState.IMPORTING.value, BatchState.COMMITTED.value]


@pytest.fixture(params=STATES)
def state(request):
    return request.param


@pytest.fixture
def world(session, state):
    built = build_world(session)
    set_batch_state(session, built.batch, state)
    return built


def _visible(state: str) -> bool:
    return state == BatchState.COMMITTED.value


def _found(names, state: str, *, expected: set[str] = frozenset(PENDING)) -> None:
    """Assert that the pending articles ``expected`` are among ``names`` exactly when the batch is committed."""
    pending = set(names) & set(PENDING)
    assert pending == (set(expected) if _visible(state) else set()), names


def _refused_unless_visible(state: str, call) -> None:
    """Call ``call``: a pending article is NotFound while importing, found once committed."""
    if _visible(state):
        call()
    else:
        with pytest.raises(NotFound):
            call()


# --- the helpers themselves -------------------------------------------------------------------------------


def test_the_helpers_find_only_visible_articles(session, world, state):
    for name in PENDING + SHOWN:
        expected = name in SHOWN or _visible(state)
        assert (find_article(session, name) is not None) == expected
        assert (get_visible(session, world.id_of(name)) is not None) == expected
    ids = session.exec(select(Article.external_id).where(visible_article_id(Article.id))).all()
    _found(ids, state)
    assert set(SHOWN) <= set(ids)


# --- annotators: the queue, the article, claims and assignments -------------------------------------------


def test_the_queue_gives_out_no_pending_article(session, world, state):
    settings = load_settings(session)
    # Started by others and with room, pendinggold comes before any untouched article.
    expected = "pendinggold" if _visible(state) else "shownfresh"
    assert assignment.peek_next(session, world.dan, settings) == expected
    assert assignment.claim_next(session, world.dan, settings) == expected


def test_an_article_page_of_a_pending_article_is_not_found(session, world, state):
    for name in PENDING:
        _refused_unless_visible(state, lambda name=name: workspace.open_article(session, name, world.dan))
        _refused_unless_visible(
            state, lambda name=name: workspace.load_workspace(session, world.id_of(name), world.rev)
        )
    assert workspace.article_exists(session, world.id_of("pendingfresh")) == _visible(state)
    _refused_unless_visible(
        state, lambda: workspace.start_work(session, world.id_of("pendingfresh"), world.rev)
    )


def test_an_assignment_refuses_pending_ids_and_never_picks_them(session, world, state):
    settings = load_settings(session)
    _refused_unless_visible(
        state, lambda: assignment.assign(session, settings, "dan", external_ids=["pendingfresh"])
    )
    session.rollback()
    picked = assignment.assign(session, settings, "cat", count=5)
    _found(picked.assigned, state, expected={"pendingfresh"})


# --- reviewers: the queue, curation, gold, flags, feedback ---------------------------------------------------


def test_the_review_queue_lists_and_counts_no_pending_article(session, world, state):
    page = review_queue.articles(session, review_queue.Filters())
    _found([row.external_id for row in page.rows], state, expected={"pendingwaiting"})
    counts = review_queue.counts(session)
    assert (counts.waiting, counts.open_flags) == ((1, 1) if _visible(state) else (0, 0))
    first = review_queue.first_waiting(session, world.rev.id)
    assert first == (world.id_of("pendingwaiting") if _visible(state) else None)
    flagged = review_queue.flags(session, review_queue.Filters(state=review_queue.QueueState.FLAGGED))
    _found([row.external_id for row in flagged.rows], state, expected={"pendinggold"})


def test_curation_gold_history_flags_and_feedback_of_a_pending_article_are_not_found(session, world, state):
    waiting, gold = world.id_of("pendingwaiting"), world.id_of("pendinggold")
    _refused_unless_visible(state, lambda: curation.open_curation(session, waiting, world.rev))
    _refused_unless_visible(state, lambda: gold_revisions.gold_history(session, gold, world.rev))
    _refused_unless_visible(state, lambda: gold_revisions.plan_promotion(session, waiting, world.rev, "ann"))
    _refused_unless_visible(
        state, lambda: flags.answer_flag(session, gold, world.rev, annotator="cat", note="Yes, an actor.")
    )
    settings = load_settings(session)
    assert feedback.available(session, gold, world.rev, settings, owner="ann") == _visible(state)
    _refused_unless_visible(
        state, lambda: feedback.feedback(session, gold, world.rev, settings, annotator="ann")
    )


# --- gold, exports, evaluation, agreement, the dashboard and progress --------------------------------------


def _exported_names(path, format_: str) -> list[str]:
    if format_ == "jsonl":
        return [json.loads(line)["id"] for line in path.read_text().splitlines()]
    if format_ in ("csv", "tally"):
        with path.open(newline="") as file:
            return [row[0] for row in list(csv.reader(file))[1:]]
    if format_ == "spacy":
        return [
            document.id for shard in sorted(path.iterdir()) for document in read_docbin(shard.read_bytes())
        ]
    # CoNLL carries no ids: each text ends with its article's name.
    return [name for name in PENDING + SHOWN if f"\n{name} O\n" in path.read_text()]


@pytest.mark.parametrize("format_", sorted(WRITERS))
def test_the_gold_export_holds_no_pending_article(session, world, state, tmp_path, format_):
    output = tmp_path / f"gold{SUFFIXES[format_]}"
    summary = export(session, "gold", output, format_=format_)
    names = _exported_names(output, format_)
    _found(names, state, expected={"pendinggold"})
    assert "showngold" in names
    assert summary.written["all"] == (2 if _visible(state) else 1)
    # The pending article waiting for adjudication is not even listed as waiting.
    _found(summary.selection.waiting_for_adjudication, state, expected={"pendingwaiting"})
    assert summary.selection.articles == (5 if _visible(state) else 2)


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("gold", {"pendinggold"}),
        ("model", {"pendingwaiting", "pendinggold"}),
        ("annotator:ann", {"pendingwaiting", "pendinggold"}),
    ],
)
def test_evaluation_reads_no_pending_article(session, world, state, origin, expected):
    _found([document.id for document in read_source(session, origin)], state, expected=expected)


def test_the_accuracy_page_compares_no_pending_article(session, world, state):
    report = accuracy_report(session, world.rev, "gold", "model")
    assert report.evaluation.documents == (2 if _visible(state) else 1)
    _found([each.external_id for each in report.articles], state, expected={"pendinggold"})


def test_agreement_leaves_pending_articles_out(session, world, state):
    result = agreement.agreement(session)
    assert result.articles == (1 if _visible(state) else 0)
    assert set(result.annotators) == ({"ann", "bob"} if _visible(state) else set())


def test_the_dashboard_and_progress_count_no_pending_article(session, world, state):
    rows = {row.username: row for row in dashboard.dashboard(session, world.rev).rows}
    assert (rows["ann"].accepted, rows["cat"].flagged) == ((2, 1) if _visible(state) else (0, 0))
    assert (rows["ann"].with_others is not None) == _visible(state)
    counts = dashboard.status_counts(session, [world.bob.id])
    assert counts.get(world.bob.id, {}).get("accepted", 0) == (1 if _visible(state) else 0)
    # The team's complete articles are counted from states alone, which the app only makes on
    # visible articles (this world's pending ones got theirs before their batch went back to importing).
    mine = progress(session, world.ann.id)
    assert (mine.articles, mine.mine) == ((5, 2) if _visible(state) else (2, 0))


# --- the API's services: list, read, predictions -------------------------------------------------------------


def test_the_api_services_list_and_read_no_pending_article(session, world, state):
    page = article_data.list_page(session, world.rev)
    _found([each.external_id for each in page.articles], state)
    _refused_unless_visible(state, lambda: article_data.read_article(session, world.rev, "pendinggold"))
    _refused_unless_visible(
        state, lambda: store_predictions(session, "pendinggold", "crf", [], user=world.rev)
    )


# --- pre-annotation, all and by shard ----------------------------------------------------------------------


def _preannotated(session) -> set[str]:
    session.expire_all()
    rows = session.exec(
        select(Article.external_id).where(
            Article.preannotated_with.is_not(None), Article.preannotated_with != PREANNOTATED
        )
    )
    return set(rows)


def test_preannotation_leaves_pending_articles_alone(session, world, state):
    assert count_pending(session) == (2 if _visible(state) else 1)
    summary = preannotate(session, nlp=phrase_ruler(), batch_size=2)
    done = _preannotated(session)
    _found(done, state, expected={"pendingfresh"})
    assert "shownfresh" in done
    assert summary.articles == len(done)


@pytest.mark.parametrize("count", [2, 3])
def test_each_shard_leaves_pending_articles_alone(session, world, state, count):
    fresh = {"pendingfresh", "shownfresh"} if _visible(state) else {"shownfresh"}
    done: set[str] = set()
    for index in range(1, count + 1):
        shard = Shard.parse(f"{index}/{count}")
        before = _preannotated(session)
        preannotate(session, nlp=phrase_ruler(), batch_size=2, shard=shard)
        mine = _preannotated(session) - before
        assert {world.id_of(name) % count for name in mine} <= {shard.index}
        assert mine == {name for name in fresh if world.id_of(name) % count == shard.index}
        done |= mine
    _found(done, state, expected={"pendingfresh"})
    assert done == fresh


# --- deletion --------------------------------------------------------------------------------------------


def test_deleting_by_id_does_not_find_pending_articles(session, world, state):
    plan = deletion.plan_article_deletion(session, ["pendinggold", "showngold"])
    assert plan.missing == ([] if _visible(state) else ["pendinggold"])
    assert plan.articles == (2 if _visible(state) else 1)


def test_deleting_the_whole_batch_takes_its_articles_once_committed(session, world, state):
    """A committed import is deleted whole; one still importing is refused (its own cleanup removes it)."""
    if not _visible(state):
        with pytest.raises(deletion.DeletionRefused, match="still running"):
            deletion.delete_batch(session, world.batch.id, actor=world.rev, confirm_work=True)
        session.expire_all()
        assert sorted(session.exec(select(Article.external_id)).all()) == sorted(SHOWN + PENDING)
        return
    plan = deletion.delete_batch(session, world.batch.id, actor=world.rev, confirm_work=True)
    assert sorted(plan.shown_ids) == sorted(PENDING)
    session.expire_all()
    left = session.exec(select(Article.external_id)).all()
    assert sorted(left) == sorted(SHOWN)
