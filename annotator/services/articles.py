"""Articles as an annotator sees them: the list with their status, one article."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func
from sqlmodel import Session, select

from annotator.models import AnnotationState, Article, Status
from annotator.services.assignment import claim_params, holders_of, required_of
from annotator.services.settings import ProjectSettings


@dataclass(frozen=True)
class ArticleRow:
    external_id: str
    preview: str
    length: int
    status: str
    # The team: accepted versions, annotators holding it (accepted included), and how many it needs.
    accepted: int = 0
    holders: int = 0
    required: int = 1
    # A reviewer left a note on this user's version (an answer to a flag, or why it was sent back).
    has_note: bool = False

    @property
    def complete(self) -> bool:
        return self.accepted >= self.required


def list_articles(
    session: Session, user_id: int, settings: ProjectSettings, *, limit: int = 100, offset: int = 0
) -> list[ArticleRow]:
    """Return a page of articles with this user's status and the team's on each, in import order."""
    others = AnnotationState.__table__.alias("accepted_state")
    accepted = (
        select(func.count())
        .select_from(others)
        .where(others.c.article_id == Article.id, others.c.status == Status.ACCEPTED.value)
        .scalar_subquery()
    )
    statement = (
        select(
            Article.external_id,
            func.substr(Article.text, 1, 160),
            func.length(Article.text),
            AnnotationState.status,
            accepted,
            holders_of(Article.id),
            required_of(Article.id),
            AnnotationState.reviewer_note_at.is_not(None),
        )
        .outerjoin(
            AnnotationState,
            and_(AnnotationState.article_id == Article.id, AnnotationState.user_id == user_id),
        )
        .order_by(Article.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(statement, claim_params(settings))
    return [
        ArticleRow(
            external_id, preview, length, status or Status.TODO.value, done, holding, required, bool(noted)
        )
        for external_id, preview, length, status, done, holding, required, noted in rows
    ]


def count_articles(session: Session) -> int:
    """Return how many articles there are."""
    return session.exec(select(func.count()).select_from(Article)).one()


def count_by_status(session: Session, user_id: int) -> dict[str, int]:
    """Return how many articles this user has in each status (untouched ones are todo)."""
    rows = session.exec(
        select(AnnotationState.status, func.count())
        .where(AnnotationState.user_id == user_id)
        .group_by(AnnotationState.status)
    ).all()
    counts = {status.value: 0 for status in Status}
    counts.update(dict(rows))
    counts[Status.TODO.value] += count_articles(session) - sum(count for _, count in rows)
    return counts


def get_article(session: Session, external_id: str) -> Article | None:
    """Return the article with this external id, or None."""
    return session.exec(select(Article).where(Article.external_id == external_id)).first()
