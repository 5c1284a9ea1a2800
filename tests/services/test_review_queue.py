"""The review queue: waiting articles lowest agreement first from stored counts, filters, drafts, flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import select

from annotator.models import AnnotationState, Curation, VersionCount, utcnow
from annotator.services import flags, review_queue
from annotator.services.review_queue import Filters, QueueState
from annotator.services.settings import set_setting
from tests.factories import make_article, make_span, make_user
from tests.factories import make_version as version

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."
TALIBAN, SOLDIERS, HELMAND, OFFICIALS = (0, 7), (24, 37), (41, 57), (69, 78)


@pytest.fixture
def world(session):
    """Articles waiting with known agreement, one uncounted, one with gold, one with one version, a flag."""
    set_setting(session, "annotators_per_article", "3")
    ann, bob, carl, dave = (make_user(session, username=name) for name in ("ann", "bob", "carl", "dave"))
    rev = make_user(session, username="rev", role="reviewer")
    articles = {
        name: make_article(session, external_id=name, text=TEXT)
        for name in ("high", "low", "mid", "uncounted", "gold", "one")
    }
    same = [(TALIBAN, "ACTOR"), (HELMAND, "LOCATION")]
    version(session, articles["high"], ann, same)
    version(session, articles["high"], bob, same)
    version(session, articles["high"], carl, same)
    version(session, articles["low"], ann, [(TALIBAN, "ACTOR")])
    version(session, articles["low"], bob, [(HELMAND, "LOCATION")])
    version(session, articles["mid"], ann, [(TALIBAN, "ACTOR"), (SOLDIERS, "CASUALTY")])
    version(session, articles["mid"], bob, [(TALIBAN, "ACTOR")])
    version(session, articles["uncounted"], ann, same)
    version(session, articles["uncounted"], bob, same)
    version(session, articles["gold"], ann, same)
    version(session, articles["gold"], bob, [(TALIBAN, "ACTOR")])
    make_span(session, articles["gold"], start=TALIBAN[0], end=TALIBAN[1], label="ACTOR")
    version(session, articles["one"], ann, same)
    version(
        session, articles["one"], dave, [(OFFICIALS, "ACTOR")], status="flagged", comment="Is this an actor?"
    )
    # Counts an older release never made: the article cannot be ranked.
    states = session.exec(
        select(AnnotationState.id).where(AnnotationState.article_id == articles["uncounted"].id)
    ).all()
    session.execute(delete(VersionCount).where(VersionCount.state_id.in_(states)))
    session.add(Curation(article_id=articles["uncounted"].id, started_by_id=rev.id))
    session.add(
        Curation(
            article_id=articles["gold"].id, started_by_id=rev.id, finished_by_id=rev.id, finished_at=utcnow()
        )
    )
    session.commit()
    return articles, rev


def _names(page):
    return [row.external_id for row in page.rows]


def test_waiting_articles_come_lowest_agreement_first_uncounted_first(session, world):
    page = review_queue.articles(session, Filters())
    assert _names(page) == ["uncounted", "low", "mid", "high"]
    agreement = {row.external_id: row.agreement for row in page.rows}
    assert agreement["uncounted"] is None
    assert agreement["low"] == 0.0
    assert agreement["mid"] == pytest.approx(2 * 1 / 3)
    assert agreement["high"] == 1.0
    rows = {row.external_id: row for row in page.rows}
    assert rows["high"].accepted == ["ann", "bob", "carl"]
    assert rows["uncounted"].draft_open and rows["uncounted"].draft_by == "rev"
    assert not rows["low"].draft_open
    assert page.next_cursor is None


def test_pages_follow_on_with_a_cursor(session, world):
    first = review_queue.articles(session, Filters(), limit=2)
    assert _names(first) == ["uncounted", "low"]
    second = review_queue.articles(session, Filters(), after=first.next_cursor, limit=2)
    assert _names(second) == ["mid", "high"]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(annotator="carl"), ["high"]),
        (Filters(annotator="dave"), []),
        (Filters(label="CASUALTY"), ["mid"]),
        (Filters(label="LOCATION"), ["uncounted", "low", "high"]),
        (Filters(label="LOCATION", annotator="carl"), ["high"]),
        (Filters(state=QueueState.DRAFT), ["uncounted"]),
        (Filters(state=QueueState.ADJUDICATED), ["gold"]),
    ],
)
def test_filters(session, world, filters, expected):
    assert _names(review_queue.articles(session, filters)) == expected


def test_the_next_article_skips_another_reviewers_draft(session, world):
    articles, rev = world
    other = make_user(session, username="rev2", role="reviewer")
    assert review_queue.first_waiting(session, rev.id) == articles["uncounted"].id
    assert review_queue.first_waiting(session, other.id) == articles["low"].id


def test_flags_list_comment_annotator_time_and_answer(session, world):
    articles, rev = world
    page = review_queue.flags(session, Filters(state=QueueState.FLAGGED))
    assert [(row.external_id, row.annotator, row.comment) for row in page.rows] == [
        ("one", "dave", "Is this an actor?")
    ]
    assert abs(page.rows[0].flagged_at - utcnow()) < timedelta(minutes=1)
    assert not page.rows[0].answered
    assert review_queue.counts(session) == review_queue.Counts(waiting=4, open_flags=1)
    flags.answer_flag(
        session, articles["one"].id, rev, annotator="dave", note="Yes: officials speak, they act."
    )
    row = review_queue.flags(session, Filters(state=QueueState.FLAGGED)).rows[0]
    assert row.answered and row.reviewer == "rev" and row.reviewer_note.startswith("Yes")
    assert review_queue.counts(session).open_flags == 0
    assert review_queue.flags(session, Filters(state=QueueState.FLAGGED, annotator="ann")).rows == []
    assert review_queue.flags(session, Filters(state=QueueState.FLAGGED, label="ACTOR")).rows
    assert review_queue.flags(session, Filters(state=QueueState.FLAGGED, label="LOCATION")).rows == []
