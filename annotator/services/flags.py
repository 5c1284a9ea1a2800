"""Reviewers answer flags and send versions back to their annotators, with a note the annotator reads.

Both store the note on the annotator's state (``reviewer_note``, by whom,
when). A flag counts as answered while the note is newer than the state's
last change (``updated_at``); the version stays flagged. Sending back puts a
finished version (accepted or flagged) in progress again, claimed and
assigned to its annotator, so that it comes first in their queue and never
lapses (as an assignment, it may exceed the article's N), and bumps its
version, so that an edit from a tab they left open gets a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from annotator.errors import Forbidden, InvalidEdit, NotFound
from annotator.models import AnnotationState, Article, Role, Status, User, utcnow
from annotator.services.visibility import get_visible

MAX_NOTE = 2000
# The versions a reviewer may send back: those their annotator finished and still stand by or asked about.
SENDABLE = (Status.ACCEPTED.value, Status.FLAGGED.value)

_STATES = AnnotationState.__table__


@dataclass(frozen=True)
class ReviewerNote:
    """A reviewer's note on one annotator's version, as the annotator's page shows it."""

    note: str
    by: str | None  # None: that reviewer's account was deleted
    at: datetime


def _check(reviewer: User, note: str) -> str:
    if reviewer.role == Role.ANNOTATOR.value:
        raise Forbidden("Only reviewers and admins answer flags and send work back.")
    note = (note or "").strip()
    if not note:
        raise InvalidEdit("Not sent: write a note for the annotator (what to look at, or your answer).")
    if len(note) > MAX_NOTE:
        raise InvalidEdit(f"Not sent: the note is {len(note)} characters long; keep it to {MAX_NOTE}.")
    return note


def _state(session: Session, article_id: int, annotator: str) -> tuple[Article, AnnotationState]:
    article = get_visible(session, article_id)
    if article is None:
        raise NotFound(f"No article number {article_id}.")
    user = session.exec(select(User).where(User.username == annotator)).first()
    if user is None:
        raise NotFound(f"No user named {annotator!r}.")
    state = session.exec(
        select(AnnotationState).where(
            AnnotationState.article_id == article_id, AnnotationState.user_id == user.id
        )
    ).first()
    if state is None:
        raise NotFound(f"{annotator} has no version of {article.external_id!r}.")
    return article, state


def _status_words(status: str) -> str:
    return {"todo": "not started", "in_progress": "in progress"}.get(status, status)


def answer_flag(session: Session, article_id: int, reviewer: User, *, annotator: str, note: str) -> str:
    """Answer the flag ``annotator`` raised on the article; commit, and return the article's external id."""
    note = _check(reviewer, note)
    article, state = _state(session, article_id, annotator)
    if state.status != Status.FLAGGED.value:
        raise InvalidEdit(
            f"Not sent: {annotator}'s version of {article.external_id!r} is not flagged "
            f"(it is {_status_words(state.status)}); send it back with a note instead."
        )
    # Only a still-flagged version is answered (the annotator may have acted meanwhile).
    done = session.execute(
        update(_STATES)
        .where(_STATES.c.id == state.id, _STATES.c.status == Status.FLAGGED.value)
        .values(reviewer_note=note, reviewer_note_by_id=reviewer.id, reviewer_note_at=utcnow())
    )
    if done.rowcount != 1:
        session.rollback()
        raise InvalidEdit(f"Not sent: {annotator} changed their version meanwhile; reload the page.")
    session.commit()
    return article.external_id


def send_back(session: Session, article_id: int, reviewer: User, *, annotator: str, note: str) -> str:
    """Send ``annotator``'s accepted or flagged version back to them with a note; commit, return the external id."""
    note = _check(reviewer, note)
    article, state = _state(session, article_id, annotator)
    if state.status not in SENDABLE:
        raise InvalidEdit(
            f"Not sent back: {annotator}'s version of {article.external_id!r} is "
            f"{_status_words(state.status)}; only an accepted or flagged version can be sent back."
        )
    now = utcnow()
    # Conditional on the status it was read with: of a send-back and an edit at once, one wins.
    done = session.execute(
        update(_STATES)
        .where(_STATES.c.id == state.id, _STATES.c.status == state.status, _STATES.c.version == state.version)
        .values(
            status=Status.IN_PROGRESS.value,
            version=_STATES.c.version + 1,
            claimed_at=now,
            assigned_at=now,
            updated_at=now,
            reviewer_note=note,
            reviewer_note_by_id=reviewer.id,
            reviewer_note_at=now,
        )
    )
    if done.rowcount != 1:
        session.rollback()
        raise InvalidEdit(f"Not sent back: {annotator} changed their version meanwhile; reload the page.")
    session.commit()
    return article.external_id


def note_for(session: Session, article_id: int, annotator: str) -> ReviewerNote | None:
    """Return the reviewer's note on ``annotator``'s version of the article, if there is one."""
    reviewer = User.__table__.alias("reviewer")
    owner = User.__table__.alias("owner")
    row = session.execute(
        select(_STATES.c.reviewer_note, reviewer.c.username, _STATES.c.reviewer_note_at)
        .select_from(
            _STATES.join(owner, owner.c.id == _STATES.c.user_id).outerjoin(
                reviewer, reviewer.c.id == _STATES.c.reviewer_note_by_id
            )
        )
        .where(
            _STATES.c.article_id == article_id,
            owner.c.username == annotator,
            _STATES.c.reviewer_note.is_not(None),
        )
    ).first()
    return ReviewerNote(*row) if row else None
