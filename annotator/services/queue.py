"""The annotator's queue and progress: which article comes next, and how many are accepted.

Statements are built once, with bind parameters: building these SELECTs
(aliases, correlated subqueries) costs more than running them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func
from sqlmodel import Session, select

from annotator.models import (
    AnnotationState,
    Article,
    Status,
)

# Statuses after which an article leaves the annotator's queue.
FINISHED = (Status.ACCEPTED.value, Status.SKIPPED.value, Status.FLAGGED.value)

_ARTICLES = Article.__table__
_STATES = AnnotationState.__table__


@dataclass(frozen=True)
class Progress:
    articles: int
    mine: int  # articles this user accepted
    team: int  # articles accepted by at least one annotator


def next_expression(current_id=None):
    """Return a scalar expression: the first article :viewer_id has not finished after ``current_id``, else before."""
    candidate = _ARTICLES.alias("candidate")
    state = _STATES.alias("finished")
    unfinished = ~exists().where(
        state.c.article_id == candidate.c.id,
        state.c.user_id == bindparam("viewer_id"),
        state.c.status.in_(FINISHED),
    )

    def first(*conditions):
        return (
            select(candidate.c.external_id)
            .where(unfinished, *conditions)
            .order_by(candidate.c.id)
            .limit(1)
            .scalar_subquery()
        )

    if current_id is None:
        return first()
    return func.coalesce(first(candidate.c.id > current_id), first(candidate.c.id < current_id))


@functools.cache
def _next_statement():
    return select(next_expression())


def next_article(session: Session, user_id: int) -> str | None:
    """Return the external id of the first article this user has not finished, or None."""
    return session.execute(_next_statement(), {"viewer_id": user_id}).scalar_one()


@functools.cache
def _progress_statement():
    accepted = _STATES.c.status == Status.ACCEPTED.value
    return select(
        select(func.count()).select_from(_ARTICLES).scalar_subquery(),
        select(func.count())
        .select_from(_STATES)
        .where(_STATES.c.user_id == bindparam("user_id"), accepted)
        .scalar_subquery(),
        select(func.count(_STATES.c.article_id.distinct())).where(accepted).scalar_subquery(),
    )


def progress(session: Session, user_id: int) -> Progress:
    """Return how many articles there are, this user accepted, and anyone accepted (one query)."""
    articles, mine, team = session.execute(_progress_statement(), {"user_id": user_id}).one()
    return Progress(articles=articles, mine=mine, team=team)
