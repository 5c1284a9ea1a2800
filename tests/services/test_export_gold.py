"""What counts as gold, and reading documents in a bounded number of queries."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from annotator.models import AnnotationState
from annotator.services.gold import Selection, document_ids, iter_documents
from annotator.services.gold_revisions import promote
from annotator.services.origins import parse_origin
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def set_status(session, article, user, status="accepted"):
    state = AnnotationState(article_id=article.id, user_id=user.id, status=status)
    session.add(state)
    session.commit()
    return state


def gold_of(session, **options):
    selection = Selection("gold")
    documents = {
        document.id: [(span["start"], span["end"], span["label"]) for span in document.spans]
        for document in iter_documents(session, parse_origin(session, "gold"), selection=selection, **options)
    }
    return documents, selection


@contextmanager
def counted_queries(session):
    """Count the SQL statements the session's engine runs inside the block."""
    statements = []
    engine = session.get_bind()

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_gold_spans_win_over_an_accepted_version(session):
    ann = make_user(session, username="ann")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=0, end=7, label="ACTOR")
    make_span(session, article, start=41, end=48, label="LOCATION", origin="annotator", owner=ann)
    set_status(session, article, ann)
    documents, selection = gold_of(session)
    assert documents == {"a1": [(0, 7, "ACTOR")]}
    assert (selection.from_stored_gold, selection.from_accepted) == (1, 0)


def test_the_one_accepted_version_is_gold_without_gold_spans(session):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=24, end=37, label="CASUALTY", origin="annotator", owner=ann, attrs=NINE)
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=bob)
    set_status(session, article, ann)
    set_status(session, article, bob, "in_progress")
    [document] = iter_documents(session, parse_origin(session, "gold"))
    assert document.spans == [{"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE}]


def test_an_accepted_version_without_spans_is_empty_gold(session):
    ann = make_user(session, username="ann")
    set_status(session, make_article(session, external_id="a1", text=TEXT), ann)
    documents, _ = gold_of(session)
    assert documents == {"a1": []}


def test_articles_without_gold_or_waiting_for_adjudication_are_left_out_and_counted(session):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    plain = make_article(session, external_id="plain", text="Nothing happened.")
    started = make_article(session, external_id="started", text="Still nothing.")
    set_status(session, started, ann, "in_progress")
    both = make_article(session, external_id="both", text=TEXT)
    set_status(session, both, ann)
    set_status(session, both, bob)
    settled = make_article(session, external_id="settled", text=TEXT + " ")
    set_status(session, settled, ann)
    set_status(session, settled, bob)
    make_span(session, settled, start=0, end=7, label="ACTOR")
    documents, selection = gold_of(session)
    assert list(documents) == ["settled"]
    assert selection.waiting_for_adjudication == ["both"]
    assert selection.waiting_for_annotators == []
    assert (selection.articles, selection.documents, selection.left_out) == (4, 1, 2)
    assert "Left out 2 articles without gold." in selection.describe()
    assert (
        "Left out 1 article waiting for adjudication (two or more accepted versions, no gold yet): both"
        in (selection.describe())
    )
    assert plain.id not in document_ids(session, parse_origin(session, "gold"))


@pytest.mark.parametrize("origin", ["gold", "model", "annotator:ann"])
def test_document_ids_are_the_ids_of_the_documents(session, origin):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    for index in range(7):
        article = make_article(session, external_id=f"a{index}", text=f"{TEXT} {index}")
        if index % 2:
            make_span(session, article, start=0, end=7, label="ACTOR", origin="model")
            make_span(session, article, start=0, end=7, label="ACTOR")
        if index % 3 == 0:
            set_status(session, article, ann)
        if index == 3:
            set_status(session, article, bob)
    owner = parse_origin(session, origin)
    yielded = [document.article_id for document in iter_documents(session, owner, chunk_size=2)]
    assert document_ids(session, owner, chunk_size=2) == yielded


def test_reading_gold_takes_a_fixed_number_of_queries_per_chunk(session):
    users = [make_user(session, username=f"user{index}") for index in range(3)]

    def add(count, offset):
        for index in range(offset, offset + count):
            article = make_article(session, external_id=f"a{index:03d}", text=f"{TEXT} {index}")
            owner = users[index % 3]
            if index % 2:
                make_span(session, article, start=0, end=7, label="ACTOR")
            make_span(session, article, start=41, end=48, label="LOCATION", origin="annotator", owner=owner)
            set_status(session, article, owner)

    add(5, 0)
    with counted_queries(session) as few:
        assert len(gold_of(session, chunk_size=1000)[0]) == 5
    add(60, 5)
    with counted_queries(session) as many:
        assert len(gold_of(session, chunk_size=1000)[0]) == 65
    assert len(many) == len(few)


def test_promoted_gold_settles_conflicting_versions(session):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    make_span(session, article, start=0, end=16, label="ACTOR", origin="annotator", owner=bob)
    set_status(session, article, ann)
    set_status(session, article, bob)
    assert gold_of(session)[0] == {}
    rev = make_user(session, username="rev", role="reviewer")
    promote(session, article.id, rev, "bob", reason=None, replaces=0)
    assert gold_of(session)[0] == {"a1": [(0, 16, "ACTOR")]}


def test_an_empty_stored_gold_is_gold_that_marks_nothing(session):
    ann = make_user(session, username="ann")
    rev = make_user(session, username="rev", role="reviewer")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=41, end=48, label="LOCATION", origin="model")
    set_status(session, article, ann)  # ann accepted a version with no spans
    promote(session, article.id, rev, "ann", reason=None, replaces=0)
    documents, selection = gold_of(session)
    assert documents == {"a1": []}
    assert (selection.from_stored_gold, selection.from_accepted, selection.left_out) == (1, 0, 0)
    assert document_ids(session, parse_origin(session, "gold")) == [article.id]


def test_a_second_accepted_version_sends_an_article_to_adjudication_never_silently(session):
    """With N = 2, one accepted version is not gold yet; two wait for a reviewer; each is named."""
    from annotator.services.settings import set_setting

    set_setting(session, "annotators_per_article", "2")
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    set_status(session, article, ann)
    documents, selection = gold_of(session)
    assert documents == {} and selection.waiting_for_annotators == ["a1"]
    assert "Left out 1 article waiting for more annotators to accept them: a1" in selection.describe()
    set_status(session, article, bob)
    documents, selection = gold_of(session)
    assert documents == {} and selection.waiting_for_adjudication == ["a1"]
    assert document_ids(session, parse_origin(session, "gold")) == []


def test_evaluate_names_the_articles_waiting_for_adjudication(session):
    from annotator.services.evaluate import evaluate_sources

    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    article.preannotated_with = "test"
    session.add(article)
    session.commit()
    set_status(session, article, ann)
    set_status(session, article, bob)
    evaluation = evaluate_sources(session, "gold", "model")
    assert evaluation.to_dict()["waiting_for_adjudication"] == ["a1"]
    assert (
        "Left out 1 article waiting for adjudication (two or more accepted versions), with no gold yet: a1."
        in (evaluation.table())
    )
