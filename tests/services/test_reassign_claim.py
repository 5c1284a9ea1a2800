"""An admin moves an annotator's claim on an article to another annotator; the first one's work stays theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from annotator.errors import InvalidEdit, NotFound
from annotator.models import AnnotationState, AuditEvent, Span
from annotator.services import assignment, edits, users, workspace
from annotator.services.settings import load_settings, set_setting
from tests.factories import make_article, make_span, make_user


@pytest.fixture
def team(session):
    return {name: make_user(session, username=name) for name in ("ann", "bob", "cat")}


@pytest.fixture
def root(session):
    return make_user(session, username="root", role="admin")


@pytest.fixture
def article(session):
    article = make_article(session, external_id="a0", text="Taliban fighters attacked Kabul.")
    make_span(session, article, start=0, end=7, label="ACTOR", origin="model")
    make_span(session, article, start=26, end=31, label="LOCATION", origin="model")
    return article


def state(session, article, user) -> AnnotationState | None:
    session.expire_all()
    return session.exec(
        select(AnnotationState).where(
            AnnotationState.article_id == article.id, AnnotationState.user_id == user.id
        )
    ).first()


def copy_of(session, article, user) -> list[tuple[int, int, str]]:
    spans = session.exec(
        select(Span).where(Span.article_id == article.id, Span.owner_id == user.id).order_by(Span.start)
    ).all()
    return [(span.start, span.end, span.label) for span in spans]


def holders(session, article) -> set[str]:
    session.expire_all()
    cutoff = assignment.claim_params(load_settings(session))["cutoff"]
    states = session.exec(select(AnnotationState).where(AnnotationState.article_id == article.id)).all()
    return {
        users.get_user(session, each.user_id).username
        for each in states
        if assignment.state_holds(each.status, each.claimed_at, each.assigned_at, each.updated_at, cutoff)
    }


def edited_claim(session, article, user):
    """Claim the article for ``user`` with Next and delete one of their spans (one edit)."""
    assert assignment.claim_next(session, user, load_settings(session)) == article.external_id
    ws = workspace.open_article(session, article.external_id, user)
    first = ws.spans[0]
    edits.delete_span(session, article.id, user, version=ws.state.version, span_id=first.id)


def audit_actions(session) -> list[str]:
    session.expire_all()
    return [event.action for event in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_claims_of_lists_unfinished_held_articles_only(session, team, article):
    other = make_article(session, external_id="a1", text="Gunmen killed 3 in Herat.")
    ann = team["ann"]
    settings = load_settings(session)
    assignment.claim_next(session, ann, settings)
    assignment.assign(session, settings, "ann", external_ids=["a1"])
    claims = assignment.claims_of(session, ann.id, settings)
    assert [(claim.external_id, claim.assigned) for claim in claims] == [("a0", False), ("a1", True)]
    edits.set_status(session, other.id, ann, version=0, status="accepted")
    assert [claim.external_id for claim in assignment.claims_of(session, ann.id, settings)] == ["a0"]


def test_reassigning_moves_the_claim_and_keeps_the_old_copy(session, team, root, article):
    ann, bob = team["ann"], team["bob"]
    edited_claim(session, article, ann)
    before = copy_of(session, article, ann)
    assert len(before) == 1

    plan = assignment.reassign_claim(session, article.id, "ann", "bob", actor=root)
    assert (plan.from_version, plan.to_has_copy) == (1, False)
    assert holders(session, article) == {"bob"}
    anns = state(session, article, ann)
    assert (anns.claimed_at, anns.assigned_at, anns.version) == (None, None, 1)
    assert copy_of(session, article, ann) == before
    bobs = state(session, article, bob)
    assert bobs.assigned_at is not None
    # Bob starts as any first claim does: from the model's two spans, not from ann's copy.
    assert copy_of(session, article, bob) == [(0, 7, "ACTOR"), (26, 31, "LOCATION")]
    # Assigned: first in bob's queue, and it never lapses.
    assert assignment.claim_next(session, bob, load_settings(session)) == "a0"
    set_setting(session, "claim_timeout", "1h")
    bobs = state(session, article, bob)
    bobs.updated_at -= timedelta(days=3)
    session.add(bobs)
    session.commit()
    assert holders(session, article) == {"bob"}

    event = session.exec(select(AuditEvent).where(AuditEvent.action == "claim.reassign")).one()
    assert (event.actor_name, event.target) == ("root", "article:a0")
    assert event.details == {
        "article_id": article.id,
        "from_user": "ann",
        "to_user": "bob",
        "from_version": 1,
    }


def test_the_old_annotator_cannot_take_it_back_while_the_article_is_full(session, team, root, article):
    ann = team["ann"]
    edited_claim(session, article, ann)
    assignment.reassign_claim(session, article.id, "ann", "bob", actor=root)
    # One annotator per article (the default): bob has it, so ann's Next moves on.
    assert assignment.claim_next(session, ann, load_settings(session)) is None


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ("bob-holds", InvalidEdit, "holds 'a0' already"),
        ("cat-inactive", InvalidEdit, "not an active annotator"),
        ("rev", InvalidEdit, "not an active annotator"),
        ("ann", InvalidEdit, "choose someone else"),
        ("nobody", NotFound, "no user named"),
    ],
)
def test_reassigning_refuses_and_writes_nothing(session, team, root, article, target, error, message):
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "overlap_coverage", "100")
    ann, bob = team["ann"], team["bob"]
    edited_claim(session, article, ann)
    if target == "bob-holds":
        assert assignment.claim_next(session, bob, load_settings(session)) == "a0"
        target = "bob"
    elif target == "cat-inactive":
        users.set_active(session, "cat", False)
        target = "cat"
    elif target == "rev":
        make_user(session, username="rev", role="reviewer")
    before = (holders(session, article), audit_actions(session))
    with pytest.raises(error, match=message):
        assignment.reassign_claim(session, article.id, "ann", target, actor=root)
    assert (holders(session, article), audit_actions(session)) == before


def test_reassigning_needs_an_unfinished_claim(session, team, root, article):
    ann = team["ann"]
    with pytest.raises(InvalidEdit, match="holds no unfinished claim"):
        assignment.reassign_claim(session, article.id, "ann", "bob", actor=root)
    edited_claim(session, article, ann)
    edits.set_status(session, article.id, ann, version=1, status="accepted")
    with pytest.raises(InvalidEdit, match="holds no unfinished claim"):
        assignment.reassign_claim(session, article.id, "ann", "bob", actor=root)
    with pytest.raises(NotFound):
        assignment.reassign_claim(session, 999_999, "ann", "bob", actor=root)
    assert "claim.reassign" not in audit_actions(session)


def test_a_target_with_a_copy_goes_on_from_it(session, team, root, article):
    ann, bob = team["ann"], team["bob"]
    # Bob claimed, edited and skipped it (which releases it); then ann took it.
    edited_claim(session, article, bob)
    edits.set_status(session, article.id, bob, version=1, status="skipped")
    edited_claim(session, article, ann)
    bobs_copy = copy_of(session, article, bob)
    plan = assignment.reassign_claim(session, article.id, "ann", "bob", actor=root)
    assert plan.to_has_copy
    assert copy_of(session, article, bob) == bobs_copy
    assert state(session, article, bob).status == "in_progress"
    assert holders(session, article) == {"bob"}


def test_assigning_an_article_the_annotator_skipped_takes_it_up_again(session, team, article):
    # The claim of an existing state once failed to compile (a parameter named as a column).
    ann = team["ann"]
    edited_claim(session, article, ann)
    edits.set_status(session, article.id, ann, version=1, status="skipped")
    assert holders(session, article) == set()
    assignment.assign(session, load_settings(session), "ann", external_ids=["a0"])
    assert holders(session, article) == {"ann"}
    assert state(session, article, ann).status == "in_progress"
