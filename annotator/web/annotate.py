"""The annotator's article list and article page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.models import Status
from annotator.services import articles, assignment, feedback, workspace
from annotator.web import project_settings
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
    settings = project_settings()
    rows = articles.list_articles(
        session, g.user.id, settings, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    counts = articles.count_by_status(session, g.user.id)
    total = sum(counts.values())
    return render_template(
        "annotate/list.html",
        rows=rows,
        counts=counts,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        settings=settings,
        next_external_id=assignment.peek_next(session, g.user, settings),
    )


@bp.post("/next")
def next_article():
    """Take the next article of the user's queue (claiming it) and open it."""
    leaving = request.form.get("leaving", type=bounded_int)
    external_id = assignment.claim_next(get_session(), g.user, project_settings(), leaving=leaving)
    if external_id is None:
        flash("Your queue is empty: every article you may annotate is done or has its annotators.", "info")
        return redirect(url_for("annotate.list_articles"), code=303)
    return redirect(url_for("annotate.show_article", external_id=external_id), code=303)


@bp.get("/<external_id:external_id>")
def show_article(external_id: str):
    """Show an article with the user's spans (or, for reviewers, another annotator's) ready to edit."""
    ws = workspace.open_article(
        get_session(),
        external_id,
        g.user,
        annotator=request.args.get("annotator") or None,
        selected=request.args.get("span", type=bounded_int),
        settings=project_settings(),
    )
    return render_template("annotate/article.html", ws=ws, **article_extras(ws))


def article_extras(ws: workspace.Workspace) -> dict:
    """Return what the article page shows besides the workspace: the reviewer's note, the feedback link."""
    session = get_session()
    return {
        "note": ws.note,
        # Feedback against gold: annotators on their own version; reviewers on the version they read.
        "feedback_available": ws.state is not None
        and ws.state.status == Status.ACCEPTED.value
        and feedback.available(session, ws.article_id, g.user, project_settings(), owner=ws.annotator),
    }
