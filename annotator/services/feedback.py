"""Feedback for an annotator: where their accepted version of an article differs from its gold.

Read-only, and only once the article has stored gold (a gold revision).
Annotators see it only when the ``annotators_see_gold`` setting is yes, and
only for their own version; reviewers and admins may read anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from annotator.errors import Forbidden, NotFound
from annotator.models import AnnotationState, Article, Origin, Role, Span, Status, User
from annotator.services.chunks import Segment, segments
from annotator.services.gold_revisions import has_revision_condition
from annotator.services.settings import ProjectSettings
from annotator.services.visibility import get_visible, visible_articles

# Characters of text shown either side of a difference.
CONTEXT = 60


@dataclass(frozen=True)
class FeedbackSpan:
    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    text: str
    # "match", "yours" (only in your version) or "gold" (only in gold).
    kind: str
    # For a span only in your version: the gold spans over the same text, if any.
    instead: tuple[FeedbackSpan, ...] = ()


@dataclass(frozen=True)
class Difference:
    """One span of a difference with a stretch of text around it."""

    span: FeedbackSpan
    before: str
    after: str
    # Whether the text goes on beyond the stretch shown, before it and after it.
    more_before: bool = False
    more_after: bool = False


@dataclass
class Feedback:
    article_id: int
    external_id: str
    annotator: str
    text: str
    matches: list[FeedbackSpan] = field(default_factory=list)
    only_yours: list[Difference] = field(default_factory=list)
    only_gold: list[Difference] = field(default_factory=list)

    @property
    def marked(self) -> list[Segment]:
        """The text with your version's spans marked (match or not), for reading it whole."""
        yours = sorted(self.matches + [each.span for each in self.only_yours], key=lambda s: s.start)
        return segments(self.text, yours)


def _owner(session: Session, viewer: User, annotator: str | None, settings: ProjectSettings) -> User:
    if viewer.role == Role.ANNOTATOR.value:
        if not settings.annotators_see_gold:
            raise Forbidden(
                "Comparing your work with gold is turned off for annotators in this project "
                "(the annotators_see_gold setting); a reviewer can turn it on."
            )
        if annotator is not None and annotator != viewer.username:
            raise Forbidden("Annotators see only their own work compared with gold.")
        return viewer
    if annotator is None or annotator == viewer.username:
        return viewer
    owner = session.exec(select(User).where(User.username == annotator)).first()
    if owner is None:
        raise NotFound(f"No user named {annotator!r}.")
    return owner


def available(
    session: Session, article_id: int, viewer: User, settings: ProjectSettings, *, owner: str
) -> bool:
    """Return whether ``viewer`` may open the feedback on ``owner``'s version of the article now."""
    if viewer.role == Role.ANNOTATOR.value and (not settings.annotators_see_gold or owner != viewer.username):
        return False
    return (
        session.exec(
            select(Article.id).where(
                Article.id == article_id,
                visible_articles(),
                has_revision_condition(),
                select(AnnotationState.id)
                .join(User, User.id == AnnotationState.user_id)
                .where(
                    AnnotationState.article_id == Article.id,
                    User.username == owner,
                    AnnotationState.status == Status.ACCEPTED.value,
                )
                .exists(),
            )
        ).first()
        is not None
    )


def feedback(
    session: Session,
    article_id: int,
    viewer: User,
    settings: ProjectSettings,
    *,
    annotator: str | None = None,
) -> Feedback:
    """Return where ``annotator``'s (by default the viewer's own) accepted version differs from gold."""
    owner = _owner(session, viewer, annotator, settings)
    article = get_visible(session, article_id)
    if article is None:
        raise NotFound(f"No article number {article_id}.")
    has_gold = session.exec(
        select(Article.id).where(Article.id == article_id, has_revision_condition())
    ).first()
    if has_gold is None:
        raise NotFound(f"{article.external_id!r} has no gold yet, so there is nothing to compare with.")
    whose = "You have" if owner.id == viewer.id else f"{owner.username} has"
    status = session.exec(
        select(AnnotationState.status).where(
            AnnotationState.article_id == article_id, AnnotationState.user_id == owner.id
        )
    ).first()
    if status != Status.ACCEPTED.value:
        raise NotFound(f"{whose} no accepted version of {article.external_id!r} to compare with gold.")
    rows = session.exec(
        select(Span.start, Span.end, Span.label, Span.attrs, Span.origin)
        .where(
            Span.article_id == article_id,
            (Span.origin == Origin.GOLD.value)
            | ((Span.origin == Origin.ANNOTATOR.value) & (Span.owner_id == owner.id)),
        )
        .order_by(Span.start, Span.end)
    ).all()
    return compare(article, owner.username, rows)


def compare(article: Article, annotator: str, rows) -> Feedback:
    """Return the feedback of one version against gold from (start, end, label, attrs, origin) rows."""
    text = article.text

    def make(start, end, label, attrs, kind, instead=()) -> FeedbackSpan:
        return FeedbackSpan(start, end, label, attrs or {}, text[start:end], kind, tuple(instead))

    def around(span: FeedbackSpan) -> Difference:
        return Difference(
            span,
            text[max(0, span.start - CONTEXT) : span.start],
            text[span.end : span.end + CONTEXT],
            more_before=span.start > CONTEXT,
            more_after=span.end + CONTEXT < len(text),
        )

    gold = [(s, e, label, attrs) for s, e, label, attrs, origin in rows if origin == Origin.GOLD.value]
    yours = [(s, e, label, attrs) for s, e, label, attrs, origin in rows if origin != Origin.GOLD.value]
    gold_keys = {(s, e, label) for s, e, label, _ in gold}
    your_keys = {(s, e, label) for s, e, label, _ in yours}
    result = Feedback(article.id, article.external_id, annotator, text)
    for start, end, label, attrs in yours:
        if (start, end, label) in gold_keys:
            result.matches.append(make(start, end, label, attrs, "match"))
            continue
        instead = [make(*each, "gold") for each in gold if each[0] < end and start < each[1]]
        result.only_yours.append(around(make(start, end, label, attrs, "yours", instead)))
    for start, end, label, attrs in gold:
        if (start, end, label) not in your_keys:
            result.only_gold.append(around(make(start, end, label, attrs, "gold")))
    return result
