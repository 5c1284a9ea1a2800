"""Database constraints guard the span and state invariants whatever code writes them."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from annotator.models import AnnotationState, Span
from tests.factories import make_article, make_span, make_user


@pytest.mark.parametrize(
    ("start", "end", "origin", "with_owner"),
    [
        (-1, 3, "gold", False),  # negative start
        (5, 5, "gold", False),  # empty span
        (6, 2, "gold", False),  # reversed
        (0, 3, "annotator", False),  # annotator span without owner
        (0, 3, "model", True),  # model span with owner
        (0, 3, "guess", False),  # unknown origin
    ],
)
def test_span_constraints_reject_invalid_rows(session, start, end, origin, with_owner):
    article = make_article(session)
    owner = make_user(session) if with_owner else None
    session.add(
        Span(
            article_id=article.id,
            start=start,
            end=end,
            label="ACTOR",
            origin=origin,
            owner_id=owner.id if owner else None,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_span_needs_an_existing_article(session):
    session.add(Span(article_id=12345, start=0, end=3, label="ACTOR", origin="gold"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_deleting_an_article_deletes_its_spans_and_states(session):
    article = make_article(session)
    user = make_user(session)
    make_span(session, article, start=0, end=7, label="ACTOR")
    session.add(AnnotationState(article_id=article.id, user_id=user.id))
    session.commit()
    session.delete(article)
    session.commit()
    assert session.exec(select(Span)).all() == []
    assert session.exec(select(AnnotationState)).all() == []


def test_one_state_per_user_and_article(session):
    article = make_article(session)
    user = make_user(session)
    session.add(AnnotationState(article_id=article.id, user_id=user.id))
    session.commit()
    session.add(AnnotationState(article_id=article.id, user_id=user.id))
    with pytest.raises(IntegrityError):
        session.commit()


def test_state_rejects_unknown_status(session):
    article = make_article(session)
    user = make_user(session)
    session.add(AnnotationState(article_id=article.id, user_id=user.id, status="done"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_span_attributes_round_trip_as_json(session):
    article = make_article(session)
    attrs = {"count": 35, "qualifier": "at_least", "outcome": "killed", "group": "civilian"}
    span = make_span(session, article, start=0, end=7, label="CASUALTY", attrs=attrs)
    session.expunge_all()
    assert session.get(Span, span.id).attrs == attrs
