"""Answering flags and sending versions back: what is stored, what is refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from annotator.errors import Forbidden, InvalidEdit, NotFound, StaleVersion
from annotator.models import AnnotationState
from annotator.services import assignment, edits, flags, workspace
from annotator.services.settings import load_settings
from tests.factories import make_article, make_user


@pytest.fixture
def people(session):
    return (
        make_user(session, username="ann"),
        make_user(session, username="rev", role="reviewer"),
    )


def _state(session, article, user) -> AnnotationState:
    session.expire_all()
    return session.exec(
        select(AnnotationState).where(
            AnnotationState.article_id == article.id, AnnotationState.user_id == user.id
        )
    ).one()


def _finish(session, article, user, status, comment=None):
    workspace.open_article(session, article.external_id, user)
    edits.set_status(session, article.id, user, version=0, status=status, comment=comment)


def test_answering_a_flag_keeps_it_flagged_and_stores_the_note(session, people):
    ann, rev = people
    article = make_article(session)
    _finish(session, article, ann, "flagged", "Unclear")
    flags.answer_flag(session, article.id, rev, annotator="ann", note="  Mark the group.  ")
    state = _state(session, article, ann)
    assert state.status == "flagged"
    assert state.reviewer_note == "Mark the group."
    assert state.reviewer_note_by_id == rev.id
    assert state.reviewer_note_at > state.updated_at
    note = flags.note_for(session, article.id, "ann")
    assert (note.note, note.by) == ("Mark the group.", "rev")


def test_only_a_flagged_version_is_answered(session, people):
    ann, rev = people
    article = make_article(session)
    _finish(session, article, ann, "accepted")
    with pytest.raises(InvalidEdit, match="not flagged"):
        flags.answer_flag(session, article.id, rev, annotator="ann", note="ok")


def test_send_back_puts_it_in_progress_first_in_their_queue_and_stales_their_tab(session, people):
    ann, rev = people
    first, sent = make_article(session, external_id="first"), make_article(session, external_id="sent")
    _finish(session, sent, ann, "accepted")
    seen = _state(session, sent, ann).version
    flags.send_back(session, sent.id, rev, annotator="ann", note="Check the casualty figure.")
    state = _state(session, sent, ann)
    assert state.status == "in_progress"
    assert state.version == seen + 1
    assert state.claimed_at is not None and state.assigned_at == state.claimed_at
    assert state.reviewer_note == "Check the casualty figure."
    # Assigned: before "first", which comes earlier in article order and nobody holds.
    assert first.id < sent.id
    assert assignment.claim_next(session, ann, load_settings(session)) == "sent"
    with pytest.raises(StaleVersion):
        edits.set_status(session, sent.id, ann, version=seen, status="accepted")
    edits.set_status(session, sent.id, ann, version=seen + 1, status="accepted")


def test_a_flagged_version_can_be_sent_back(session, people):
    ann, rev = people
    article = make_article(session)
    _finish(session, article, ann, "flagged", "Unclear")
    flags.send_back(session, article.id, rev, annotator="ann", note="Done as you asked; look again.")
    assert _state(session, article, ann).status == "in_progress"


@pytest.mark.parametrize(
    ("annotator", "note", "error", "match"),
    [
        ("ann", "", InvalidEdit, "write a note"),
        ("ann", "   ", InvalidEdit, "write a note"),
        ("ann", "x" * 2001, InvalidEdit, "keep it to 2000"),
        ("nobody", "a note", NotFound, "No user named 'nobody'"),
        ("bob", "a note", NotFound, "bob has no version"),
    ],
)
def test_send_back_refuses(session, people, annotator, note, error, match):
    ann, rev = people
    make_user(session, username="bob")
    article = make_article(session)
    _finish(session, article, ann, "accepted")
    with pytest.raises(error, match=match):
        flags.send_back(session, article.id, rev, annotator=annotator, note=note)
    assert _state(session, article, ann).status == "accepted"


def test_a_version_in_progress_is_not_sent_back(session, people):
    ann, rev = people
    article = make_article(session)
    workspace.open_article(session, article.external_id, ann)
    with pytest.raises(InvalidEdit, match="is not started; only an accepted or flagged version"):
        flags.send_back(session, article.id, rev, annotator="ann", note="n")


def test_annotators_may_not_send_back(session, people):
    ann, _ = people
    article = make_article(session)
    _finish(session, article, ann, "accepted")
    with pytest.raises(Forbidden):
        flags.send_back(session, article.id, ann, annotator="ann", note="n")
