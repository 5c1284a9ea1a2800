"""The queue at scale: accept counters kept by the database, and the articles the queue must not skip.

The queue reads only the articles nobody accepted and the overlap articles
short of accepts (article.accepted_count, kept by triggers; schema_queue.py),
so these tests check that every way an article becomes free again brings it
back: a claim that lapses, an accept withdrawn or sent back, a user or state
deleted; and that deleted articles are never offered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, text, update
from sqlmodel import select

from annotator import schema_queue
from annotator.models import AnnotationState, Article, Status, User
from annotator.services import assignment, deletion, edits, flags, settings, staffing, workspace
from annotator.services.settings import in_overlap, load_settings, set_setting
from tests.factories import make_article, make_user


@pytest.fixture
def team(session):
    return [make_user(session, username=name) for name in ("ann", "bob", "cat", "dan")]


@pytest.fixture
def corpus(session):
    return [
        make_article(session, external_id=f"a{i}", text=f"Taliban fighters attacked Kabul {i}.")
        for i in range(6)
    ]


def nxt(session, user, **options):
    return assignment.claim_next(session, user, load_settings(session), **options)


def peek(session, user):
    return assignment.peek_next(session, user, load_settings(session))


def set_status(session, user, external_id, status):
    ws = workspace.open_article(session, external_id, user)
    comment = "unclear" if status == Status.FLAGGED.value else None
    edits.set_status(session, ws.article_id, user, version=ws.state.version, status=status, comment=comment)


def counters(session):
    """Return {external id: (accepted_count, overlap_rank)} as stored."""
    session.expire_all()
    return {a.external_id: (a.accepted_count, a.overlap_rank) for a in session.exec(select(Article)).all()}


def counted(session):
    """Return the counters as they should be, counted from the states."""
    session.expire_all()
    result = {}
    for article in session.exec(select(Article)).all():
        accepted = session.exec(
            select(func.count()).where(
                AnnotationState.article_id == article.id, AnnotationState.status == Status.ACCEPTED.value
            )
        ).one()
        result[article.external_id] = (accepted, (article.id * settings.SPREAD) % 10_000 if accepted else 0)
    return result


def test_the_triggers_use_the_same_spread_as_the_settings():
    assert schema_queue.SPREAD == settings.SPREAD


def test_accepting_withdrawing_and_deleting_keep_the_counters(session, team, corpus):
    ann, bob, cat, _ = team
    set_setting(session, "annotators_per_article", "3")
    for user in (ann, bob, cat):
        set_status(session, user, "a1", "accepted")
    set_status(session, ann, "a2", "accepted")
    assert counters(session)["a1"][0] == 3
    assert counters(session) == counted(session)
    set_status(session, bob, "a1", "skipped")  # an accept withdrawn
    set_status(session, ann, "a2", "flagged")
    assert counters(session)["a1"][0] == 2
    assert counters(session)["a2"] == (0, 0)
    assert counters(session) == counted(session)
    # A state deleted directly, and a user deleted with their states (a cascade).
    session.execute(delete(AnnotationState).where(AnnotationState.user_id == cat.id))
    session.commit()
    session.delete(session.get(User, ann.id))
    session.commit()
    assert counters(session)["a1"] == (0, 0)
    assert counters(session) == counted(session)


def test_a_state_moved_to_another_article_moves_its_count(session, team, corpus):
    ann = team[0]
    set_status(session, ann, "a1", "accepted")
    session.execute(
        update(AnnotationState).where(AnnotationState.user_id == ann.id).values(article_id=corpus[3].id)
    )
    session.commit()
    assert counters(session)["a1"] == (0, 0)
    assert counters(session)["a3"][0] == 1
    assert counters(session) == counted(session)


def test_backfill_sets_the_counters_from_the_states(session, team, corpus):
    ann, bob = team[:2]
    set_setting(session, "annotators_per_article", "2")
    set_status(session, ann, "a0", "accepted")
    set_status(session, bob, "a0", "accepted")
    set_status(session, bob, "a4", "accepted")
    session.execute(update(Article).values(accepted_count=7, overlap_rank=1))
    session.commit()
    schema_queue.backfill(session.connection())
    session.commit()
    assert counters(session) == counted(session)
    assert counters(session)["a0"][0] == 2


def test_a_lapsed_claim_behind_the_done_articles_is_offered_again(session, team, corpus):
    ann, bob, cat, _ = team
    assert nxt(session, ann) == "a0"
    for external_id in ("a1", "a2", "a3"):
        set_status(session, bob, external_id, "accepted")
    assert nxt(session, cat) == "a4"  # a0 is ann's
    set_setting(session, "claim_timeout", "1h")
    session.execute(
        update(AnnotationState)
        .where(AnnotationState.user_id == ann.id)
        .values(updated_at=AnnotationState.updated_at - timedelta(hours=2))
    )
    session.commit()
    assert peek(session, team[3]) == "a0"
    assert nxt(session, team[3]) == "a0"


@pytest.mark.parametrize("release", ["skipped", "flagged", "sent back"])
def test_an_article_whose_accept_is_withdrawn_returns_to_the_queue(session, team, corpus, release):
    ann, bob, cat, _ = team
    reviewer = make_user(session, username="rev", role="reviewer")
    for external_id in ("a0", "a1", "a2"):
        set_status(session, ann, external_id, "accepted")
    assert peek(session, bob) == "a3"
    if release == "sent back":
        flags.send_back(session, corpus[1].id, reviewer, annotator="ann", note="missed a casualty")
        # Sent back, it is ann's claim again (an assignment: it never lapses), no longer counted done.
        assert counters(session)["a1"] == (0, 0)
        assert peek(session, bob) == "a3"
        set_status(session, ann, "a1", "skipped")
    else:
        set_status(session, ann, "a1", release)
    assert peek(session, bob) == "a1"
    assert nxt(session, cat) == "a1"


def test_deleted_articles_are_never_offered(session, team, corpus):
    ann, bob = team[:2]
    set_status(session, ann, "a0", "accepted")
    deletion.delete_articles(session, ["a1"], actor=None)
    assert peek(session, bob) == "a2"
    # Work on a deleted article goes with it: an accepted one too.
    deletion.delete_articles(session, ["a0"], actor=None, confirm_work=True)
    assert counters(session) == counted(session)
    assert [nxt(session, bob), nxt(session, ann)] == ["a2", "a3"]


def test_a_user_deleted_gives_back_the_articles_they_accepted(session, team, corpus):
    ann, bob = team[:2]
    for external_id in ("a0", "a1"):
        set_status(session, ann, external_id, "accepted")
    assert peek(session, bob) == "a2"
    session.delete(session.get(User, ann.id))
    session.commit()
    assert peek(session, bob) == "a0"


def test_with_two_annotators_the_overlap_articles_one_accepted_come_first(session, team):
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "overlap_coverage", "50")
    articles = [make_article(session, external_id=f"o{i}", text=f"Kabul was shelled {i}.") for i in range(12)]
    double = [a for a in articles if in_overlap(a.id, 50)]
    single = [a for a in articles if not in_overlap(a.id, 50)]
    assert len(double) >= 2 and len(single) >= 2
    ann, bob, cat, _ = team
    # ann accepts two single articles and the last two overlap articles.
    for article in single[:2] + double[-2:]:
        set_status(session, ann, article.external_id, "accepted")
    # bob is offered the overlap articles ann started, in article order, before any untouched one.
    assert nxt(session, bob) == double[-2].external_id
    set_status(session, bob, double[-2].external_id, "accepted")
    assert nxt(session, bob) == double[-1].external_id
    # cat: double[-2] has its two; double[-1] has ann's accept and bob's claim.
    first_untouched = min((a for a in articles if a not in single[:2] + double[-2:]), key=lambda a: a.id)
    assert nxt(session, cat) == first_untouched.external_id
    # ann has a part in both: she never gets them again.
    assert peek(session, ann) not in {a.external_id for a in double[-2:]}


def test_with_two_annotators_an_article_claimed_by_one_is_offered_to_the_next(session, team):
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "overlap_coverage", "50")
    articles = [make_article(session, external_id=f"o{i}", text=f"Kabul was shelled {i}.") for i in range(12)]
    double = [a for a in articles if in_overlap(a.id, 50)]
    ann, bob, cat, _ = team
    # ann is assigned the last overlap article (a claim, nothing accepted).
    assignment.assign(session, load_settings(session), "ann", external_ids=[double[-1].external_id])
    assert nxt(session, bob) == double[-1].external_id
    assert nxt(session, cat) == articles[0].external_id


def test_articles_beyond_32_bit_products_are_counted_on_every_database(session, team):
    """id * 7919 leaves a 32-bit integer above id 271,000 (PostgreSQL's integer)."""
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "overlap_coverage", "50")
    for number in (300_001, 300_002, 300_003, 300_004):
        session.add(Article(id=number, external_id=f"big{number}", text="Kabul.", content_hash="0" * 64))
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval('article_id_seq', 300004)"))
        session.commit()
    ann, bob = team[:2]
    overlap = [n for n in (300_001, 300_002, 300_003, 300_004) if in_overlap(n, 50)]
    assert overlap
    set_status(session, ann, f"big{overlap[-1]}", "accepted")
    assert counters(session) == counted(session)
    assert nxt(session, bob) == f"big{overlap[-1]}"
    # The settings page's preview of a change counts the same way.
    change = staffing.staffing_change(session, "annotators_per_article", "3", load_settings(session))
    assert change is not None and change.reopened == 1
