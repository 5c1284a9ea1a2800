"""Edits of the logged-in annotator's working copy of an article, one request each.

An htmx request gets back the fragments the edit changed (out-of-band swaps);
a plain form post gets a 303 back to the article page. A refused edit
(overlap, bad input, stale version) gets its 4xx status with the refreshed
fragments and a message, or for a plain form the whole page.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from annotator.db import get_session
from annotator.errors import InvalidEdit, InvalidSpan, SpanOverlap, StaleVersion
from annotator.services import edits, workspace
from annotator.services.assignment import FullyStaffed
from annotator.web import answers_503_when_the_database_fails, is_htmx, project_settings, render_error
from annotator.web.annotate import article_extras
from annotator.web.params import bounded_int, fitting_int, form_number, form_span_id, form_version

bp = Blueprint("review", __name__, url_prefix="/review")

# The names of the controls every edit form carries, which are not the edit's own values.
CONTROL_FIELDS = frozenset({"csrf_token", "version", "span"})


@bp.after_request
def _vary(response):
    # Each URL here answers htmx with fragments and plain forms with a redirect or a page.
    response.vary.add("HX-Request")
    return response


def _respond(result: edits.EditResult):
    ws = result.workspace
    if is_htmx():
        return render_template(
            "annotate/_edit_response.html",
            ws=ws,
            message=result.message,
            message_kind="info",
            changed=result.changed,
            ranges=result.ranges,
        )
    if result.message:
        flash(result.message, "info")
    selected = ws.selected.id if ws.selected else None
    return redirect(url_for("annotate.show_article", external_id=ws.external_id, span=selected), code=303)


@bp.errorhandler(StaleVersion)
@bp.errorhandler(SpanOverlap)
@bp.errorhandler(InvalidSpan)
@bp.errorhandler(InvalidEdit)
@answers_503_when_the_database_fails
def _refused(error):
    """Answer a refused edit with its status, the message and the working copy as it now is."""
    status = 409 if isinstance(error, StaleVersion) else 422
    article_id = request.view_args["article_id"]
    if not workspace.article_exists(get_session(), article_id):
        return render_error(NotFound(description=f"No article number {article_id}."))
    ws = workspace.load_workspace(
        get_session(),
        article_id,
        g.user,
        # A refused accept selects the first span it names; anything else keeps the selection.
        selected=getattr(error, "span_id", None) or request.form.get("span", type=fitting_int),
        page=not is_htmx(),
    )
    if is_htmx():
        html = render_template(
            "annotate/_edit_response.html",
            ws=ws,
            message=str(error),
            message_kind="error",
            changed=edits.EVERYTHING,
            ranges=None,
        )
        # The article went to other annotators: reload, so the page shows it read-only with its note.
        return html, status, ({"HX-Refresh": "true"} if isinstance(error, FullyStaffed) else {})
    flash(str(error), "error")
    return render_template("annotate/article.html", ws=ws, **article_extras(ws)), status


@bp.post("/<int:article_id>/spans")
def add(article_id: int):
    """Add a span over the selected characters, snapped to whole tokens."""
    result = edits.add_span(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        start=form_number("start"),
        end=form_number("end"),
        label=request.form.get("label", ""),
        settings=project_settings(),
    )
    return _respond(result)


@bp.get("/<int:article_id>/panel")
def panel(article_id: int):
    """Show the selected span's controls."""
    selected = request.args.get("span", type=bounded_int)
    ws = workspace.load_workspace(
        get_session(),
        article_id,
        g.user,
        annotator=request.args.get("annotator"),
        selected=selected,
        settings=project_settings(),
    )
    if selected is not None and ws.selected is None:
        if not is_htmx():
            abort(404, description="That span is gone (changed in another tab?); reload the page.")
        # The page shows a span this version no longer has: it is stale, so send the version as it is.
        html = render_template(
            "annotate/_edit_response.html",
            ws=ws,
            message="That span is no longer in this version: it was changed in another tab or window. "
            "The latest version is shown.",
            message_kind="error",
            changed=edits.EVERYTHING,
            ranges=None,
        )
        # Only the out-of-band fragments: the panel's own target is among them.
        return html, 409, {"HX-Reswap": "none"}
    if not is_htmx():
        return redirect(
            url_for(
                "annotate.show_article",
                external_id=ws.external_id,
                annotator=request.args.get("annotator"),
                span=selected,
            ),
            code=303,
        )
    return render_template("annotate/_span_panel.html", ws=ws)


@bp.post("/<int:article_id>/label")
def relabel(article_id: int):
    """Give the selected span another label."""
    result = edits.relabel_span(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        span_id=form_span_id(),
        label=request.form.get("label", ""),
        settings=project_settings(),
    )
    return _respond(result)


@bp.post("/<int:article_id>/delete")
def delete(article_id: int):
    """Delete the selected span."""
    result = edits.delete_span(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        span_id=form_span_id(),
        settings=project_settings(),
    )
    return _respond(result)


@bp.post("/<int:article_id>/resize")
def resize(article_id: int):
    """Grow or shrink the selected span by one token at one end (``move`` is e.g. ``grow-end``)."""
    direction, _, edge = request.form.get("move", "").partition("-")
    result = edits.resize_span(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        span_id=form_span_id(),
        edge=edge,
        direction=direction,
        settings=project_settings(),
    )
    return _respond(result)


@bp.post("/<int:article_id>/attrs")
def attributes(article_id: int):
    """Save the selected CASUALTY span's attributes."""
    form = {name: value for name, value in request.form.items() if name not in CONTROL_FIELDS}
    result = edits.set_attributes(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        span_id=form_span_id(),
        attrs=edits.parse_casualty_form(form),
        settings=project_settings(),
    )
    return _respond(result)


@bp.post("/<int:article_id>/status")
def status(article_id: int):
    """Accept, skip or flag the article."""
    result = edits.set_status(
        get_session(),
        article_id,
        g.user,
        version=form_version(),
        status=request.form.get("status", ""),
        comment=request.form.get("comment"),
        settings=project_settings(),
    )
    return _respond(result)


@bp.post("/<int:article_id>/undo")
def undo(article_id: int):
    """Undo the newest edit."""
    return _respond(
        edits.undo(get_session(), article_id, g.user, version=form_version(), settings=project_settings())
    )


# What a page says before the saved state, by why it asked for it.
REFRESH_REASONS = {
    "network": "The connection dropped before the server answered, so it was not known whether your last "
    "edit was saved.",
    "server": "The server could not finish your last edit.",
}


@bp.get("/<int:article_id>/refresh")
def refresh(article_id: int):
    """Show the user's working copy as saved, after an edit whose answer never arrived."""
    if not is_htmx():
        ws = workspace.load_workspace(get_session(), article_id, g.user)
        return redirect(url_for("annotate.show_article", external_id=ws.external_id), code=303)
    result = edits.saved_state(get_session(), article_id, g.user)
    reason = REFRESH_REASONS.get(request.args.get("why", ""), "")
    return render_template(
        "annotate/_edit_response.html",
        ws=result.workspace,
        message=f"{reason} {result.message}".strip(),
        message_kind="info",
        changed=result.changed,
        ranges=None,
    )


@bp.post("/<int:article_id>/start")
def start(article_id: int):
    """Start the user's own version of the article (reviewers and admins annotate by choice)."""
    external_id = workspace.start_work(get_session(), article_id, g.user, settings=project_settings())
    return redirect(url_for("annotate.show_article", external_id=external_id), code=303)
