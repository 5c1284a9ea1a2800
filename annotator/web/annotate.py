"""The annotator's article list and article page."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from annotator.db import get_session
from annotator.services import articles, queue, workspace
from annotator.web.params import MAX_DB_INT, bounded_int

bp = Blueprint("annotate", __name__, url_prefix="/articles")

PAGE_SIZE = 100


@bp.get("/")
def list_articles():
    """List the articles with the logged-in user's status on each."""
    session = get_session()
    page = max(request.args.get("page", 1, type=bounded_int), 1)
    if page > MAX_DB_INT // PAGE_SIZE:
        abort(404, description=f"There is no page {page}.")
    rows = articles.list_articles(session, g.user.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    counts = articles.count_by_status(session, g.user.id)
    total = sum(counts.values())
    return render_template(
        "annotate/list.html",
        rows=rows,
        counts=counts,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        next_external_id=queue.next_article(session, g.user.id),
    )


@bp.get("/<external_id:external_id>")
def show_article(external_id: str):
    """Show an article with the user's spans (or, for reviewers, another annotator's) ready to edit."""
    ws = workspace.open_article(
        get_session(),
        external_id,
        g.user,
        annotator=request.args.get("annotator") or None,
        selected=request.args.get("span", type=bounded_int),
    )
    return render_template("annotate/article.html", ws=ws)
