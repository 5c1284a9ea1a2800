"""The annotator's article list and article page."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.models import Role, Status
from annotator.services import articles, assignment, feedback, users, workspace
from annotator.web import is_htmx, progress, project_settings
from annotator.web.params import bounded_int, quote_external_id

bp = Blueprint("annotate", __name__, url_prefix="/articles")


@bp.get("/")
def list_articles():
    """List the visible articles with the user's status on each, a page at a time, filtered or searched."""
    session = get_session()
    settings = project_settings()
    filters = _list_filters()
    page = articles.list_page(
        session,
        g.user,
        settings,
        filters,
        after=request.args.get("after", type=bounded_int),
        before=request.args.get("before", type=bounded_int),
    )
    context = {"page": page, "filters": filters, "article_href": _article_href(page.annotator)}
    if (
        is_htmx()
        and request.headers.get("HX-Target") == "article-list"
        and not request.headers.get("HX-History-Restore-Request")
    ):
        # The filter form and the pager swap only the list: the same fragment the page includes.
        response = make_response(render_template("annotate/_list.html", **context))
    else:
        reviewer = g.user.role != Role.ANNOTATOR.value
        response = make_response(
            render_template(
                "annotate/list.html",
                # The top bar counted the visible articles already: one query less.
                counts=articles.count_by_status(session, g.user.id, total=progress().articles),
                total=progress().articles,
                settings=settings,
                next_external_id=assignment.peek_next(session, g.user, settings),
                annotators=[user.username for user in users.list_users(session)] if reviewer else [],
                statuses=list(Status),
                **context,
            )
        )
    response.vary.add("HX-Request")
    return response


def _article_href(annotator: str) -> Callable[[str], str]:
    """Return a function giving an article's link in the list: url_for's answer, built once per page.

    url_for per row cost about a third of rendering a page of a hundred.
    """
    # The article page of an id that quotes to itself ("_"), cut around the id.
    base = url_for("annotate.show_article", external_id="_")[:-1]
    other = None if annotator == g.user.username else annotator
    query = url_for("annotate.show_article", external_id="_", annotator=other)[len(base) + 1 :]
    return lambda external_id: base + quote_external_id(external_id) + query


def _list_filters() -> articles.ListFilters:
    status = request.args.get("status") or None
    if status is not None and status not in set(Status):
        choices = ", ".join(Status)
        abort(422, description=f"Unknown status {status!r}: choose one of {choices}.")
    return articles.ListFilters(
        status=status,
        annotator=request.args.get("annotator") or None,
        flagged=request.args.get("flag") == "open",
        search=request.args.get("q", ""),
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
