"""API: the article list (keyset pages), one article with its spans by origin, and pushed predictions."""

from __future__ import annotations

import functools

from flask import g, url_for

from annotator.db import get_session
from annotator.services.article_data import list_page, read_article
from annotator.services.predictions import BadPredictions, store_predictions
from annotator.web.api import REVIEWERS, bp, require_role
from annotator.web.api.errors import ErrorBody, api_error, responses, spec
from annotator.web.api.schemas import (
    ArticleList,
    ArticleListQuery,
    ArticleOut,
    ArticleQuery,
    PredictionsIn,
    PredictionsOut,
)


def role_required(*roles: str):
    """Refuse (403) callers without one of ``roles`` before their request body is even validated.

    Put it above ``spec.validate``: a refused caller learns nothing about what
    a valid body would be. ``functools.wraps`` carries spectree's marks along,
    so the view stays in the OpenAPI document.
    """

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            require_role(*roles)
            return view(*args, **kwargs)

        return guarded

    return decorate


@bp.get("/articles")
@spec.validate(
    query=ArticleListQuery,
    resp=responses(HTTP_200=ArticleList, HTTP_404=ErrorBody),
    tags=["articles"],
)
def list_articles(query: ArticleListQuery):
    """List articles, a page at a time.

    Pages follow article ids (keyset pagination): pass the answer's
    `next_after` as `after`, or follow `next`, until it is null. Annotators
    see only their own status and may name only themselves as `annotator`
    (403 otherwise); reviewers and admins see every annotator's status.

    `status` filters on one annotator's status (an article never opened is
    `todo` for them): an annotator's own; for reviewers and admins,
    `annotator`'s, or without `annotator` anyone's, where `todo` means that
    nobody has taken the article further. `has_gold` filters on gold as
    exports take it: stored gold, or the one accepted version of an article
    that needs one annotator.
    """
    try:
        page = list_page(
            get_session(),
            g.user,
            after=query.after,
            limit=query.limit,
            status=query.status,
            annotator=query.annotator,
            has_gold=query.has_gold,
        )
    except ValueError as error:
        return api_error(422, str(error))
    next_url = None
    if page.next_after is not None:
        filters = query.model_dump(exclude_none=True, exclude={"after"})
        if "has_gold" in filters:
            filters["has_gold"] = "true" if filters["has_gold"] else "false"
        next_url = url_for("api.list_articles", **filters, after=page.next_after)
    return ArticleList(
        articles=[
            {
                "id": article.external_id,
                "article_id": article.article_id,
                "length": article.length,
                "title": article.title,
                "preview": article.preview,
                "has_gold": article.has_gold,
                "status": article.status,
                "annotators": article.annotators,
            }
            for article in page.articles
        ],
        next_after=page.next_after,
        next=next_url,
    ).model_dump()


@bp.get("/articles/<external_id:external_id>")
@spec.validate(
    query=ArticleQuery,
    resp=responses(HTTP_200=ArticleOut, HTTP_404=ErrorBody),
    tags=["articles"],
)
def get_article(external_id: str, query: ArticleQuery):
    """Read one article: its text, metadata and spans by origin.

    `<id>` is the external id, URL-encoded (a "/" in it as %2F). Spans come as
    `{"model": [...], "gold": [...], "annotators": {"name": [...]}}`:
    annotators get only their own version, and gold only when the project
    lets annotators see it. `?origin=` asks for one origin (gold, model,
    model:SOURCE, annotator:NAME).
    """
    try:
        detail = read_article(get_session(), g.user, external_id, origin=query.origin)
    except ValueError as error:
        return api_error(422, str(error))
    answer = {
        "id": detail.external_id,
        "article_id": detail.article_id,
        "text": detail.text,
        "meta": detail.meta,
        "spans": detail.spans,
        "statuses": detail.statuses,
    }
    if detail.gold_status is not None:
        answer["gold_status"] = detail.gold_status
    return answer


@bp.post("/articles/<external_id:external_id>/predictions")
@role_required(*REVIEWERS)
@spec.validate(
    json=PredictionsIn,
    resp=responses(HTTP_200=PredictionsOut, HTTP_404=ErrorBody),
    tags=["articles"],
)
def push_predictions(external_id: str, json: PredictionsIn):
    """Store a model's spans for one article under a source name (reviewers and admins).

    They are model spans with source `api:NAME`: they replace that source's
    earlier spans for the article and leave every other source's alone.
    `model:NAME` then selects them in export, evaluation and the Accuracy
    page; `model` still means every model span. All or nothing: any bad span
    gives 422 with every problem, and nothing is stored.
    """
    spans = [span.model_dump(exclude_none=True) for span in json.spans]
    try:
        stored = store_predictions(get_session(), external_id, json.source, spans, user=g.user)
    except BadPredictions as error:
        return api_error(422, str(error), error.problems)
    return PredictionsOut(
        id=stored.external_id,
        source=stored.source,
        origin=f"model:{stored.source}",
        spans=stored.spans,
        replaced=stored.replaced,
    ).model_dump()
