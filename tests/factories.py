"""Plain functions that put test data in the database."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from annotator.models import Article, GoldRevision, Span, User
from annotator.services.gold_revisions import snapshot
from annotator.services.users import create_user


def make_article(
    session: Session,
    *,
    external_id: str = "a1",
    text: str = "Taliban fighters attacked Kabul.",
    meta: dict[str, Any] | None = None,
) -> Article:
    article = Article(
        external_id=external_id,
        text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        meta=meta or {},
    )
    session.add(article)
    session.commit()
    session.refresh(article)
    return article


def make_user(
    session: Session, *, username: str = "ann", password: str = "secret-pw", role: str = "annotator"
) -> User:
    return create_user(session, username, password, role=role)


def make_span(
    session: Session,
    article: Article,
    *,
    start: int,
    end: int,
    label: str,
    origin: str = "gold",
    owner: User | None = None,
    attrs: dict[str, Any] | None = None,
) -> Span:
    span = Span(
        article_id=article.id,
        start=start,
        end=end,
        label=label,
        origin=origin,
        owner_id=owner.id if owner else None,
        attrs=attrs or {},
    )
    session.add(span)
    session.commit()
    session.refresh(span)
    if origin == "gold":
        _snapshot_gold(session, article)
    return span


def _snapshot_gold(session: Session, article: Article) -> None:
    """Append a gold revision holding the article's gold spans, as every writer of gold does."""
    from sqlmodel import func, select

    spans = session.exec(select(Span).where(Span.article_id == article.id, Span.origin == "gold")).all()
    number = session.exec(
        select(func.max(GoldRevision.revision)).where(GoldRevision.article_id == article.id)
    ).one()
    session.add(
        GoldRevision(
            article_id=article.id,
            revision=(number or 0) + 1,
            action="import",
            source="tests.factories",
            spans=snapshot(
                {"start": s.start, "end": s.end, "label": s.label, "attrs": s.attrs} for s in spans
            ),
        )
    )
    session.commit()


# Complete CASUALTY attributes, so that a version holding such a span can be accepted.
COMPLETE_CASUALTY = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def make_version(
    session: Session,
    article: Article,
    user: User,
    spans: list[tuple[tuple[int, int], str]],
    *,
    status: str = "accepted",
    comment: str | None = None,
) -> None:
    """Give an annotator a version of the article holding ``spans`` (((start, end), label)), then accept or flag it."""
    from annotator.services import edits, workspace

    workspace.open_article(session, article.external_id, user)
    for (start, end), label in spans:
        attrs = COMPLETE_CASUALTY if label == "CASUALTY" else None
        make_span(
            session, article, start=start, end=end, label=label, origin="annotator", owner=user, attrs=attrs
        )
    edits.set_status(session, article.id, user, version=0, status=status, comment=comment)
