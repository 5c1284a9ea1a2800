"""Deleting articles or a whole import: what goes, the refusal without a second confirmation, the audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from annotator.models import (
    AnnotationState,
    Article,
    AuditEvent,
    GoldRevision,
    ImportBatch,
    Span,
    SpanEdit,
    VersionCount,
)
from annotator.services import deletion, workspace
from annotator.services.importer import import_paths
from tests.factories import make_article, make_span, make_user, make_version

TEXT = "Taliban fighters attacked Kabul."
TABLES = (Article, Span, AnnotationState, SpanEdit, GoldRevision, VersionCount, ImportBatch)


def snapshot(session) -> dict[str, int]:
    """Count the rows of every table a deletion touches."""
    return {
        table.__tablename__: session.exec(select(func.count()).select_from(table)).one() for table in TABLES
    }


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def article(session, external_id: str) -> Article:
    return session.exec(select(Article).where(Article.external_id == external_id)).one()


@pytest.fixture
def corpus(session, tmp_path):
    """Import 1 (model spans): a1 accepted by ann, a2 opened only, a3 untouched; a0 stored before, with gold."""
    ann = make_user(session, username="ann")
    a0 = make_article(session, external_id="a0", text=TEXT)
    make_span(session, a0, start=0, end=7, label="ACTOR")
    spans = [{"start": 26, "end": 31, "label": "LOCATION"}]
    summary = import_paths(
        session,
        [
            write_jsonl(
                tmp_path / "batch.jsonl",
                {"id": "a0", "text": TEXT, "spans": spans},
                *({"id": f"a{i}", "text": f"{TEXT} {i}", "spans": spans} for i in (1, 2, 3)),
            )
        ],
        origin="model",
    )
    make_version(session, article(session, "a1"), ann, [((0, 7), "ACTOR")])
    workspace.open_article(session, "a2", ann)
    session.commit()
    return summary.batch_id


def test_the_plan_counts_articles_spans_work_and_gold(session, corpus):
    plan = deletion.plan_article_deletion(session, ["a0", "a1", "a2", "nope", "a1"])

    assert plan.articles == 3 and plan.shown_ids == ["a0", "a1", "a2"] and plan.missing == ["nope"]
    # a0: a gold span and a model span; a1: a model span, and ann's copy (ACTOR, plus the model's LOCATION); a2:
    # a model span, and ann's copy of it.
    assert plan.spans == 2 + 3 + 2
    # a2 was only opened: a "to do" version never edited is no work.
    assert (plan.with_work, plan.with_gold, plan.with_app_gold) == (1, 1, 0)
    assert plan.destroys_work


def test_deleting_work_without_the_second_confirmation_is_refused_and_changes_nothing(session, corpus):
    before = snapshot(session)

    with pytest.raises(deletion.DeletionRefused, match="1 of these articles hold annotators' work"):
        deletion.delete_articles(session, ["a1", "a3"], actor=None)

    assert snapshot(session) == before
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "article.delete")).all() == []


def test_deleting_gold_needs_the_second_confirmation_too(session, corpus):
    with pytest.raises(deletion.DeletionRefused, match="1 have gold"):
        deletion.delete_articles(session, ["a0"], actor=None)


def test_confirmed_deletion_takes_the_articles_and_everything_about_them(session, corpus):
    boss = make_user(session, username="boss", role="admin")
    before = snapshot(session)

    plan = deletion.delete_articles(session, ["a1", "a2"], actor=boss, confirm_work=True, expected=2)

    after = snapshot(session)
    assert after["article"] == before["article"] - 2
    assert after["span"] == before["span"] - plan.spans
    assert after["annotation_state"] == after["span_edit"] == after["version_count"] == 0
    assert {a.external_id for a in session.exec(select(Article))} == {"a0", "a3"}
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "article.delete")).all()
    assert (event.actor_name, event.target) == ("boss", "2 articles")
    assert event.details == {
        "ids": ["a1", "a2"],
        "articles": 2,
        "spans": plan.spans,
        "with_work": 1,
        "with_gold": 0,
        "work_confirmed": True,
    }


def test_articles_without_work_or_gold_go_on_the_first_confirmation(session, corpus):
    plan = deletion.delete_articles(session, ["a3"], actor=None)

    assert plan.articles == 1 and not plan.destroys_work
    assert session.exec(select(Article).where(Article.external_id == "a3")).first() is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "article.delete")).one()
    assert event.target == "article:a3" and event.actor_name == "(command line)"


def test_a_deletion_whose_articles_changed_since_the_confirmation_is_refused(session, corpus):
    before = snapshot(session)
    with pytest.raises(
        deletion.DeletionRefused, match=r"changed since the confirmation was shown \(2 then, 1 now\)"
    ):
        deletion.delete_articles(session, ["a3", "gone"], actor=None, expected=2)
    assert snapshot(session) == before


def test_nothing_to_delete_is_refused(session, corpus):
    with pytest.raises(deletion.DeletionRefused, match="nothing to delete"):
        deletion.delete_articles(session, ["nope"], actor=None, expected=0)


def test_deleting_an_import_takes_the_articles_it_created_and_its_record(session, corpus):
    plan = deletion.plan_batch_deletion(session, corpus)
    assert (plan.articles, plan.with_work, plan.with_gold) == (3, 1, 0)
    with pytest.raises(deletion.DeletionRefused):
        deletion.delete_batch(session, corpus, actor=None, expected=3)
    assert session.get(ImportBatch, corpus) is not None

    deletion.delete_batch(session, corpus, actor=None, confirm_work=True, expected=3)

    # a0 was stored before the import: it stays, with the model span the import added to it.
    assert [a.external_id for a in session.exec(select(Article))] == ["a0"]
    a0 = article(session, "a0")
    assert {(s.origin, s.label) for s in session.exec(select(Span).where(Span.article_id == a0.id))} == {
        ("gold", "ACTOR"),
        ("model", "LOCATION"),
    }
    session.expire_all()
    assert session.get(ImportBatch, corpus) is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import.delete")).one()
    assert event.target == f"import:{corpus}"
    assert (event.details["articles"], event.details["origin"], event.details["channel"]) == (
        3,
        "model",
        "cli",
    )


def test_deleting_an_import_goes_a_chunk_at_a_time_after_hiding_it_all(session, corpus, monkeypatch):
    """The batch turns "discarding" first (the app stops seeing its articles), then they go in chunks."""
    from annotator.services import import_batches

    monkeypatch.setattr(import_batches, "DISCARD_CHUNK", 2)
    seen = []
    real_delete_discarded = import_batches.delete_discarded

    def spy(session_, batch_id):
        session_.expire_all()
        seen.append(session_.get(ImportBatch, batch_id).state)
        return real_delete_discarded(session_, batch_id)

    monkeypatch.setattr(import_batches, "delete_discarded", spy)
    deletion.delete_batch(session, corpus, actor=None, confirm_work=True, expected=3)
    assert seen == ["discarding"]
    session.expire_all()
    assert session.get(ImportBatch, corpus) is None
    assert [a.external_id for a in session.exec(select(Article))] == ["a0"]


@pytest.mark.parametrize("state", ["importing", "discarding"])
def test_an_import_not_committed_cannot_be_deleted_from_here(session, corpus, state):
    batch = session.get(ImportBatch, corpus)
    batch.state = state
    session.commit()
    before = snapshot(session)
    with pytest.raises(deletion.DeletionRefused, match="still running|already being deleted"):
        deletion.plan_batch_deletion(session, corpus)
    with pytest.raises(deletion.DeletionRefused):
        deletion.delete_batch(session, corpus, actor=None, confirm_work=True, expected=3)
    assert snapshot(session) == before
    session.expire_all()
    assert session.get(ImportBatch, corpus).state == state


def test_the_list_of_imports_counts_the_articles_left(session, corpus):
    deletion.delete_articles(session, ["a3"], actor=None)

    page = deletion.list_batches(session)

    (row,) = page.rows
    assert (row.batch.id, row.articles, row.username, page.next_before) == (corpus, 2, None, None)
    assert deletion.get_batch(session, corpus).articles == 2


def test_parse_ids_reads_one_id_a_line():
    assert deletion.parse_ids(" a1 \n\na/2\r\na1\n  \n") == ["a1", "a/2"]
