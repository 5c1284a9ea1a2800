"""The reviewers' queue: articles waiting for adjudication, lowest agreement first, and flagged versions."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.labels import LABELS
from annotator.models import Role
from annotator.services import review_queue
from annotator.web.params import MAX_DB_INT, bounded_int

bp = Blueprint("queue", __name__, url_prefix="/queue")


@bp.before_request
def _reviewers_only():
    if g.user.role == Role.ANNOTATOR.value:
        abort(403, description="The review queue shows everyone's work: reviewers and admins only.")


def _filters() -> review_queue.Filters:
    state = request.args.get("state") or review_queue.QueueState.WAITING.value
    if state not in set(review_queue.QueueState):
        choices = ", ".join(review_queue.QueueState)
        abort(422, description=f"Unknown state {state!r}: choose one of {choices}.")
    label = request.args.get("label") or None
    if label is not None and label not in LABELS:
        abort(422, description=f"Unknown label {label!r}: choose one of {', '.join(LABELS)}, or all labels.")
    return review_queue.Filters(
        state=review_queue.QueueState(state), annotator=request.args.get("annotator") or None, label=label
    )


def _cursor() -> review_queue.Cursor | None:
    key = request.args.get("after_key", type=float)
    article_id = request.args.get("after_id", type=bounded_int)
    if key is None or article_id is None:
        return None
    if not math.isfinite(key):
        abort(400, description="That page link is broken; start again from the first page.")
    return review_queue.Cursor(key, article_id)


@bp.get("/")
def show():
    """List the articles waiting for adjudication (lowest agreement first), or those in another state, or flags."""
    session = get_session()
    filters = _filters()
    flag_page = article_page = None
    page, after = 1, _cursor()
    if filters.state == review_queue.QueueState.FLAGGED:
        page = max(request.args.get("page", 1, type=bounded_int), 1)
        if page > MAX_DB_INT // review_queue.PAGE_SIZE:
            abort(404, description=f"There is no page {page}.")
        flag_page = review_queue.flags(session, filters, page=page)
    else:
        article_page = review_queue.articles(session, filters, after=after)
    return render_template(
        "queue/page.html",
        filters=filters,
        states=review_queue.QueueState,
        annotators=review_queue.annotators(session),
        articles=article_page,
        flags=flag_page,
        page=page,
        first_page=after is None,
    )


@bp.get("/counts")
def counts():
    """The top bar's counts: articles waiting for adjudication and flags to answer (a fragment)."""
    return render_template("queue/_counts.html", counts=review_queue.counts(get_session()))


@bp.get("/next")
def next_article():
    """Open the curation view of the first article waiting for adjudication that no other reviewer is drafting."""
    article_id = review_queue.first_waiting(get_session(), g.user.id)
    if article_id is None:
        flash(
            "Nothing waits for adjudication (or every waiting article has another reviewer's draft open).",
            "info",
        )
        return redirect(url_for("queue.show"))
    return redirect(url_for("curation.show", article_id=article_id))
