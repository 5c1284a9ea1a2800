"""Gold revisions: appended, never changed; imports, promotions and restores each add one."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from annotator.errors import Forbidden, InvalidEdit, NotFound, StaleVersion
from annotator.models import AnnotationState, GoldRevision, Span
from annotator.services import gold_revisions
from annotator.services.importer import import_paths
from annotator.services.users import get_user_by_name
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def _revisions(session, article_id):
    session.expire_all()
    return session.exec(
        select(GoldRevision).where(GoldRevision.article_id == article_id).order_by(GoldRevision.revision)
    ).all()


def _gold_rows(session, article_id):
    session.expire_all()
    rows = session.exec(select(Span).where(Span.article_id == article_id, Span.origin == "gold")).all()
    return sorted((s.start, s.end, s.label, s.attrs) for s in rows)


def _write(tmp_path, name, records):
    path = tmp_path / name
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_compare_names_what_is_added_removed_changed_and_kept():
    old = [
        {"start": 0, "end": 7, "label": "ACTOR"},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE},
        {"start": 41, "end": 48, "label": "LOCATION"},
    ]
    new = [
        {"start": 0, "end": 7, "label": "ACTOR"},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": {**NINE, "count": 8}},
        {"start": 0 + 41, "end": 57, "label": "LOCATION"},
    ]
    diff = gold_revisions.compare(TEXT, old, new)
    assert diff.kept == 1
    assert [(c.text, c.was) for c in diff.changed] == [("nine soldiers", ("CASUALTY", NINE))]
    assert [c.text for c in diff.added] == ["Helmand province"]
    assert [c.text for c in diff.removed] == ["Helmand"]
    assert gold_revisions.compare(TEXT, old, old).is_empty


def test_each_record_appends_a_revision_and_replaces_the_gold_rows(session):
    article = make_article(session, text=TEXT)
    first = gold_revisions.record_revision(
        session, article.id, [{"start": 0, "end": 7, "label": "ACTOR"}], action="import"
    )
    second = gold_revisions.record_revision(session, article.id, [], action="promote", source="annotator:ann")
    session.commit()
    assert (first.revision, second.revision) == (1, 2)
    assert _gold_rows(session, article.id) == []  # the newest is the gold: it marks nothing
    assert [r.spans for r in _revisions(session, article.id)] == [
        [{"start": 0, "end": 7, "label": "ACTOR", "attrs": {}}],
        [],
    ]
    assert gold_revisions.current(session, article.id).revision == 2


def test_importing_gold_appends_a_revision_only_when_the_gold_changes(session, tmp_path):
    record = {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]}
    path = _write(tmp_path, "gold.jsonl", [record])
    assert import_paths(session, [path]).gold_revisions == 1
    assert import_paths(session, [path]).gold_revisions == 0  # the same again: no new revision
    more = {
        **record,
        "spans": [*record["spans"], {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE}],
    }
    assert import_paths(session, [_write(tmp_path, "more.jsonl", [more])]).gold_revisions == 1
    article_id = session.exec(select(GoldRevision.article_id)).first()
    revisions = _revisions(session, article_id)
    assert [(r.revision, r.action, r.source.rsplit("/", 1)[-1], len(r.spans)) for r in revisions] == [
        (1, "import", "gold.jsonl", 1),
        (2, "import", "more.jsonl", 2),
    ]


def test_an_empty_spans_list_imported_as_gold_is_an_empty_gold(session, tmp_path):
    path = _write(
        tmp_path,
        "empty.jsonl",
        [
            {"id": "quiet", "text": "Nothing happened in Kabul."},
            {"id": "marked", "text": "Calm day.", "spans": []},
        ],
    )
    summary = import_paths(session, [path])
    assert summary.gold_revisions == 1
    revisions = session.exec(select(GoldRevision)).all()
    assert [(r.revision, r.spans) for r in revisions] == [(1, [])]


def test_model_spans_never_make_gold_revisions(session, tmp_path):
    path = _write(tmp_path, "model.jsonl", [{"id": "a1", "text": TEXT, "spans": []}])
    import_paths(session, [path], origin="model")
    assert session.exec(select(GoldRevision)).all() == []


@pytest.fixture
def versions(session):
    """An article with imported gold (one ACTOR), ann's accepted version and bob's opened one."""
    article = make_article(session, text=TEXT)
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    reviewer = make_user(session, username="rev", role="reviewer")
    make_span(session, article, start=0, end=7, label="ACTOR")
    make_span(session, article, start=0, end=16, label="ACTOR", origin="annotator", owner=ann)
    make_span(session, article, start=24, end=37, label="CASUALTY", origin="annotator", owner=ann, attrs=NINE)
    make_span(session, article, start=41, end=48, label="LOCATION", origin="annotator", owner=bob)
    session.add(AnnotationState(article_id=article.id, user_id=ann.id, status="accepted"))
    session.add(AnnotationState(article_id=article.id, user_id=bob.id, status="todo"))
    session.commit()
    return article, reviewer


def test_promoting_an_accepted_version_needs_no_reason(session, versions):
    article, reviewer = versions
    change, revision = gold_revisions.promote(session, article.id, reviewer, "ann", reason=None, replaces=1)
    assert revision.revision == 2 and revision.created_by_id == reviewer.id
    assert (len(change.diff.added), len(change.diff.removed)) == (2, 1)
    assert _gold_rows(session, article.id) == [(0, 16, "ACTOR", {}), (24, 37, "CASUALTY", NINE)]


def test_promoting_a_version_that_is_not_accepted_needs_a_reason(session, versions):
    article, reviewer = versions
    with pytest.raises(InvalidEdit, match="bob's version is todo, not accepted"):
        gold_revisions.promote(session, article.id, reviewer, "bob", reason="", replaces=1)
    assert len(_revisions(session, article.id)) == 1
    gold_revisions.promote(session, article.id, reviewer, "bob", reason="Only bob marked Helmand", replaces=1)
    assert _revisions(session, article.id)[-1].reason == "Only bob marked Helmand"


def test_a_confirmation_of_an_older_gold_is_stale(session, versions):
    article, reviewer = versions
    gold_revisions.promote(session, article.id, reviewer, "ann", reason=None, replaces=1)
    with pytest.raises(StaleVersion, match="it is now revision 2"):
        gold_revisions.promote(session, article.id, reviewer, "ann", reason=None, replaces=1)


def test_restoring_appends_the_old_spans_as_a_new_revision(session, versions):
    article, reviewer = versions
    before = _gold_rows(session, article.id)
    gold_revisions.promote(session, article.id, reviewer, "ann", reason=None, replaces=1)
    _, restored = gold_revisions.restore(session, article.id, reviewer, 1, reason=None, replaces=2)
    assert (restored.revision, restored.action, restored.source) == (3, "restore", "revision 1")
    assert _gold_rows(session, article.id) == before
    assert [entry.revision for entry in gold_revisions.history(session, article.id)] == [3, 2, 1]


def test_annotators_may_not_change_gold_and_unknowns_are_not_found(session, versions):
    article, _ = versions
    with pytest.raises(Forbidden):
        gold_revisions.plan_promotion(session, article.id, get_user_by_name(session, "ann"), "ann")
    reviewer = get_user_by_name(session, "rev")
    with pytest.raises(NotFound, match="No user named 'nobody'"):
        gold_revisions.plan_promotion(session, article.id, reviewer, "nobody")
    with pytest.raises(NotFound, match="rev has no version"):
        gold_revisions.plan_promotion(session, article.id, reviewer, "rev")
    with pytest.raises(NotFound, match="no gold revision 9"):
        gold_revisions.plan_restore(session, article.id, reviewer, 9)
    with pytest.raises(NotFound, match="No article number"):
        gold_revisions.plan_promotion(session, article.id + 100, reviewer, "ann")
