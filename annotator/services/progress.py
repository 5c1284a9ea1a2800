"""Progress counts for the top bar: articles, those this user accepted, and those complete.

An article is complete when it has as many accepted versions as it needs
annotators (services/settings.py), counted in one query. The articles are the
visible ones, summed from the import batches' counters (services/articles.py):
a few rows, not a count of the corpus on every page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from annotator.models import AnnotationState, Article, Status
from annotator.services.assignment import claim_params, required_of
from annotator.services.settings import ProjectSettings, load_settings
from annotator.services.visibility import count_visible, visible_article_id

_ARTICLES = Article.__table__
_STATES = AnnotationState.__table__


@dataclass(frozen=True)
class Progress:
    articles: int
    mine: int  # articles this user accepted
    team: int  # articles with all the accepted versions they need


@functools.cache
def _progress_statement():
    accepted = _STATES.c.status == Status.ACCEPTED.value
    per_article = (
        select(_STATES.c.article_id, func.count().label("accepted"))
        .where(accepted)
        .group_by(_STATES.c.article_id)
        .subquery()
    )
    return select(
        # The import batches' counters, not a count of the corpus.
        count_visible(),
        select(func.count())
        .select_from(_STATES)
        .where(_STATES.c.user_id == bindparam("user_id"), accepted, visible_article_id(_STATES.c.article_id))
        .scalar_subquery(),
        # No visibility check per complete article (a lookup each, on every page's top bar): only
        # visible articles get annotation states, as every path that creates one finds its article
        # through the visibility condition.
        select(func.count())
        .select_from(per_article)
        .where(per_article.c.accepted >= required_of(per_article.c.article_id))
        .scalar_subquery(),
    )


def progress(session: Session, user_id: int, settings: ProjectSettings | None = None) -> Progress:
    """Return how many articles there are, this user accepted, and are complete (one query)."""
    settings = settings or load_settings(session)
    params = claim_params(settings)
    articles, mine, team = session.execute(_progress_statement(), {**params, "user_id": user_id}).one()
    return Progress(articles=articles, mine=mine, team=team)
