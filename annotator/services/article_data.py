"""Articles as data, for the JSON API: a page of the list, and one article with its spans by origin.

Who sees what follows the web: reviewers and admins read everything;
annotators read the articles, the model's spans and their own work, and
gold only when the ``annotators_see_gold`` setting allows it, never another
annotator's work or status.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, select

from annotator.errors import Forbidden, NotFound
from annotator.models import AnnotationState, Article, Origin, Role, Span, Status, User
from annotator.services.assignment import accepted_of, claim_params, required_of
from annotator.services.gold import gold_of
from annotator.services.gold_revisions import has_revision_condition
from annotator.services.origins import model_source_condition, parse_origin
from annotator.services.settings import ProjectSettings, load_settings
from annotator.services.users import get_user_by_name
from annotator.services.visibility import find_article, visible_articles

DEFAULT_PAGE = 100
MAX_PAGE = 1000
PREVIEW = 160
STATUSES = tuple(status.value for status in Status)


def is_reviewer(user: User) -> bool:
    return user.role in (Role.REVIEWER.value, Role.ADMIN.value)


@dataclass(frozen=True)
class ListedArticle:
    article_id: int
    external_id: str
    length: int
    title: str | None
    preview: str
    has_gold: bool
    # The status of the chosen annotator's work (the caller's own, for an annotator); None when none was chosen.
    status: str | None
    # Reviewers and admins: every annotator's status on it, by name; None for annotators.
    annotators: dict[str, str] | None


@dataclass(frozen=True)
class ArticlePage:
    articles: list[ListedArticle]
    # The last article id of this page when another page follows, else None.
    next_after: int | None


def has_gold_condition():
    """Return the condition that an article has gold as exports take it (binds :n and :coverage).

    Stored gold, or exactly one accepted version of an article that needs one annotator.
    """
    return or_(has_revision_condition(), and_(accepted_of(Article.id) == 1, required_of(Article.id) == 1))


def _status_condition(status: str, user_id: int | None):
    """Return the condition that the article has ``status`` for ``user_id`` (None: for any annotator).

    An article someone never opened is ``todo`` for them; with no user, ``todo``
    means that nobody has taken the article beyond ``todo``.
    """
    state = AnnotationState.__table__.alias("status_state")
    mine = [state.c.article_id == Article.id] + ([state.c.user_id == user_id] if user_id is not None else [])
    if status == Status.TODO.value:
        return ~exists().where(*mine, state.c.status != Status.TODO.value)
    return exists().where(*mine, state.c.status == status)


def list_page(
    session: Session,
    viewer: User,
    *,
    after: int = 0,
    limit: int = DEFAULT_PAGE,
    status: str | None = None,
    annotator: str | None = None,
    has_gold: bool | None = None,
    settings: ProjectSettings | None = None,
) -> ArticlePage:
    """Return the articles after id ``after``, in id order, ``limit`` at most, filtered.

    ``status`` filters on one annotator's status: the viewer's own for an
    annotator; for reviewers and admins, ``annotator``'s, or without one, any
    annotator's (``todo`` then meaning nobody has taken the article further).
    An annotator naming anyone but themselves raises Forbidden; an unknown
    name NotFound; a bad status or limit ValueError.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be from 1 to {MAX_PAGE}, not {limit}")
    reviewer = is_reviewer(viewer)
    if not reviewer and annotator not in (None, viewer.username):
        raise Forbidden("Annotators see only their own work: leave out annotator, or give your own name.")
    chosen: User | None = viewer if not reviewer else None
    if reviewer and annotator is not None:
        chosen = get_user_by_name(session, annotator)
        if chosen is None:
            raise NotFound(f"no user named {annotator!r}")
    settings = settings or load_settings(session)
    state = AnnotationState.__table__.alias("chosen_state")
    columns = [
        Article.id,
        Article.external_id,
        func.length(Article.text),
        func.substr(Article.text, 1, PREVIEW),
        Article.meta,
        has_gold_condition().label("has_gold"),
    ]
    statement = select(*columns, state.c.status) if chosen is not None else select(*columns)
    if chosen is not None:
        statement = statement.outerjoin(
            state, and_(state.c.article_id == Article.id, state.c.user_id == chosen.id)
        )
    statement = statement.where(Article.id > after, visible_articles())
    if status is not None:
        statement = statement.where(_status_condition(status, chosen.id if chosen is not None else None))
    if has_gold is not None:
        statement = statement.where(has_gold_condition() if has_gold else ~has_gold_condition())
    rows = session.execute(statement.order_by(Article.id).limit(limit + 1), claim_params(settings)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    statuses = _statuses(session, [row[0] for row in rows]) if reviewer else None
    articles = [
        ListedArticle(
            article_id=row[0],
            external_id=row[1],
            length=row[2],
            title=_title(row[4]),
            preview=row[3],
            has_gold=bool(row[5]),
            status=(row[6] or Status.TODO.value) if chosen is not None else None,
            annotators=statuses.get(row[0], {}) if statuses is not None else None,
        )
        for row in rows
    ]
    return ArticlePage(articles, rows[-1][0] if more else None)


def _statuses(session: Session, article_ids: list[int]) -> dict[int, dict[str, str]]:
    """Return article id -> annotator name -> status, for those of ``article_ids`` anyone opened."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    if article_ids:
        for article_id, username, status in session.execute(
            select(AnnotationState.article_id, User.username, AnnotationState.status)
            .join(User, User.id == AnnotationState.user_id)
            .where(AnnotationState.article_id.in_(article_ids))
            .order_by(AnnotationState.article_id, User.username)
        ):
            found[article_id][username] = status
    return found


def _title(meta: Any) -> str | None:
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) else None


@dataclass
class ArticleDetail:
    article_id: int
    external_id: str
    text: str
    meta: dict[str, Any]
    # Only the origins shown: "model" (spans with their source), "gold" (its spans, or None while the
    # article has no gold) and "annotators" (name -> spans).
    spans: dict[str, Any] = field(default_factory=dict)
    # Where the gold stands (see services.gold.gold_of); None when gold is not shown.
    gold_status: str | None = None
    # The shown annotators' statuses, by name.
    statuses: dict[str, str] = field(default_factory=dict)


def read_article(
    session: Session,
    viewer: User,
    external_id: str,
    *,
    origin: str | None = None,
    settings: ProjectSettings | None = None,
) -> ArticleDetail:
    """Return the article with the spans of every origin ``viewer`` may read, or of ``origin`` alone.

    ``origin`` is gold, model, model:SOURCE or annotator:NAME. Raises NotFound
    for an unknown article, user or source, Forbidden for an origin the viewer
    may not read, and ValueError for a malformed one.
    """
    article = find_article(session, external_id)
    if article is None:
        raise NotFound(f"no article with id {external_id!r}")
    settings = settings or load_settings(session)
    reviewer = is_reviewer(viewer)
    may_see_gold = reviewer or settings.annotators_see_gold
    shown = {Origin.MODEL.value, Origin.GOLD.value, Origin.ANNOTATOR.value} if origin is None else set()
    model_owner = parse_origin(session, Origin.MODEL.value)
    # None: every annotator's work (reviewers); else this user's only.
    annotator_id = None if reviewer else viewer.id
    if origin is not None:
        owner = parse_origin(session, origin, model_sources=True)
        shown = {owner.origin}
        if owner.origin == Origin.MODEL:
            model_owner = owner
        elif owner.origin == Origin.ANNOTATOR:
            if not reviewer and owner.owner_id != viewer.id:
                raise Forbidden("Annotators read only their own work: ask for annotator:" + viewer.username)
            annotator_id = owner.owner_id
        elif not may_see_gold:
            raise Forbidden("Annotators may not read gold in this project (setting annotators_see_gold).")
    elif not may_see_gold:
        shown.discard(Origin.GOLD.value)
    detail = ArticleDetail(article.id, article.external_id, article.text, article.meta or {})
    if Origin.MODEL in shown:
        detail.spans["model"] = _model_spans(session, article.id, model_owner)
    if Origin.GOLD in shown:
        detail.spans["gold"], detail.gold_status = gold_of(session, article.id, settings=settings)
    if Origin.ANNOTATOR in shown:
        detail.spans["annotators"], detail.statuses = _annotator_spans(session, article.id, annotator_id)
    return detail


def _span(start: int, end: int, label: str, attrs: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "attrs": attrs or {}}


def _model_spans(session: Session, article_id: int, owner) -> list[dict[str, Any]]:
    query = select(Span.start, Span.end, Span.label, Span.attrs, Span.source).where(
        Span.article_id == article_id, Span.origin == Origin.MODEL.value
    )
    source = model_source_condition(owner, Span.source)
    if source is not None:
        query = query.where(source)
    return [
        {**_span(start, end, label, attrs), "source": source}
        for start, end, label, attrs, source in session.execute(query.order_by(Span.start, Span.end, Span.id))
    ]


def _annotator_spans(
    session: Session, article_id: int, user_id: int | None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Return name -> spans and name -> status of the article's annotators (``user_id``'s alone when given)."""
    states = select(User.username, AnnotationState.status).join(User, User.id == AnnotationState.user_id)
    states = states.where(AnnotationState.article_id == article_id)
    spans = (
        select(User.username, Span.start, Span.end, Span.label, Span.attrs)
        .join(User, User.id == Span.owner_id)
        .where(Span.article_id == article_id, Span.origin == Origin.ANNOTATOR.value)
    )
    if user_id is not None:
        states = states.where(AnnotationState.user_id == user_id)
        spans = spans.where(Span.owner_id == user_id)
    statuses = dict(session.execute(states.order_by(User.username)).all())
    versions: dict[str, list[dict[str, Any]]] = {name: [] for name in statuses}
    for username, start, end, label, attrs in session.execute(spans.order_by(User.username, Span.start)):
        versions.setdefault(username, []).append(_span(start, end, label, attrs))
    return dict(sorted(versions.items())), statuses
