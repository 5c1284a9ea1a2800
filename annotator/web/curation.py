"""The curation view: a reviewer turns an article's versions into its gold (see services/curation).

Its edits work as the review page's do: an htmx request gets back the
fragments the edit changed, a plain form post a 303 back to the page, and a
refused edit its 4xx status with the draft as it now is and a message.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound as HttpNotFound

from annotator.db import get_session
from annotator.errors import InvalidEdit, InvalidSpan, NotFound, SpanOverlap, StaleVersion
from annotator.models import Role
from annotator.services import curation
from annotator.services.edits import parse_casualty_form
from annotator.web import answers_503_when_the_database_fails, is_htmx, render_error
from annotator.web.params import bounded_int, fitting_int, form_number, form_span_id, form_version
from annotator.web.review import CONTROL_FIELDS

bp = Blueprint("curation", __name__, url_prefix="/curate")


@bp.before_request
def _reviewers_only():
    if g.user.role == Role.ANNOTATOR.value:
        abort(403, description="Adjudication makes gold: reviewers and admins only.")


@bp.after_request
def _vary(response):
    response.vary.add("HX-Request")
    return response


def _fragments(result: curation.CurationResult, kind: str, *, confirm_finish: int = 0) -> str:
    return render_template(
        "curation/_edit_response.html",
        ws=result.view,
        message=result.message,
        message_kind=kind,
        changed=result.changed,
        ranges=result.ranges,
        candidate_keys=result.candidate_keys,
        confirm_finish=confirm_finish,
    )


def _respond(result: curation.CurationResult):
    if is_htmx():
        return _fragments(result, "info")
    if result.message:
        flash(result.message, "info")
    selected = result.view.selected.id if result.view.selected else None
    return redirect(url_for("curation.show", article_id=result.view.article_id, span=selected), code=303)


@bp.errorhandler(StaleVersion)
@bp.errorhandler(SpanOverlap)
@bp.errorhandler(InvalidSpan)
@bp.errorhandler(InvalidEdit)
@answers_503_when_the_database_fails
def _refused(error):
    """Answer a refused edit with its status, the message and the draft as it now is."""
    article_id = request.view_args["article_id"]
    session = get_session()
    try:
        view = curation.load_curation(
            session,
            article_id,
            g.user,
            selected=getattr(error, "span_id", None) or request.form.get("span", type=fitting_int),
        )
    except NotFound as missing:
        return render_error(HttpNotFound(description=str(missing)))
    status = 409 if isinstance(error, StaleVersion | curation.NeedsConfirmation) else 422
    confirm = error.open_candidates if isinstance(error, curation.NeedsConfirmation) else 0
    kind = "confirm" if confirm else "error"
    result = curation.CurationResult(view, str(error), curation.EVERYTHING, None)
    if is_htmx():
        return _fragments(result, kind, confirm_finish=confirm), status
    flash(str(error), "error")
    return render_template("curation/page.html", ws=view, confirm_finish=confirm), status


@bp.get("/<int:article_id>")
def show(article_id: int):
    """Show the draft gold of the article over its text, with its candidates; the first visit starts the draft."""
    view = curation.open_curation(
        get_session(), article_id, g.user, selected=request.args.get("span", type=fitting_int)
    )
    return render_template("curation/page.html", ws=view, confirm_finish=0)


@bp.get("/<int:article_id>/panel")
def panel(article_id: int):
    """Show the selected draft span's controls."""
    selected = request.args.get("span", type=bounded_int)
    view = curation.load_curation(get_session(), article_id, g.user, selected=selected)
    if not is_htmx():
        return redirect(url_for("curation.show", article_id=article_id, span=selected), code=303)
    if selected is not None and view.selected is None:
        result = curation.CurationResult(
            view,
            "That span is no longer in the draft: it was changed in another tab. The latest draft is shown.",
        )
        return _fragments(result, "error"), 409, {"HX-Reswap": "none"}
    return render_template("annotate/_span_panel.html", ws=view)


@bp.get("/<int:article_id>/refresh")
def refresh(article_id: int):
    """Show the draft as saved, after an edit whose answer never arrived."""
    if not is_htmx():
        return redirect(url_for("curation.show", article_id=article_id), code=303)
    view = curation.load_curation(get_session(), article_id, g.user)
    return _fragments(
        curation.CurationResult(
            view, f"This is the draft gold as saved on the server, version {view.state.version}."
        ),
        "info",
    )


@bp.post("/<int:article_id>/spans")
def add(article_id: int):
    """Add a span over the selected characters, snapped to whole tokens."""
    return _respond(
        curation.add_span(
            get_session(),
            article_id,
            g.user,
            version=form_version(),
            start=form_number("start"),
            end=form_number("end"),
            label=request.form.get("label", ""),
        )
    )


@bp.post("/<int:article_id>/label")
def relabel(article_id: int):
    """Give the selected draft span another label."""
    return _respond(
        curation.relabel_span(
            get_session(),
            article_id,
            g.user,
            version=form_version(),
            span_id=form_span_id(),
            label=request.form.get("label", ""),
        )
    )


@bp.post("/<int:article_id>/delete")
def delete(article_id: int):
    """Delete the selected draft span."""
    return _respond(
        curation.delete_span(
            get_session(), article_id, g.user, version=form_version(), span_id=form_span_id()
        )
    )


@bp.post("/<int:article_id>/resize")
def resize(article_id: int):
    """Grow or shrink the selected draft span by one token at one end (``move`` is e.g. ``grow-end``)."""
    direction, _, edge = request.form.get("move", "").partition("-")
    return _respond(
        curation.resize_span(
            get_session(),
            article_id,
            g.user,
            version=form_version(),
            span_id=form_span_id(),
            edge=edge,
            direction=direction,
        )
    )


@bp.post("/<int:article_id>/attrs")
def attributes(article_id: int):
    """Save the selected CASUALTY draft span's attributes."""
    form = {name: value for name, value in request.form.items() if name not in CONTROL_FIELDS}
    return _respond(
        curation.set_attributes(
            get_session(),
            article_id,
            g.user,
            version=form_version(),
            span_id=form_span_id(),
            attrs=parse_casualty_form(form),
        )
    )


@bp.post("/<int:article_id>/candidates")
def decide(article_id: int):
    """Accept (``accept=KEY``) or reject (``reject=KEY``) a candidate."""
    accept, reject = request.form.get("accept"), request.form.get("reject")
    if bool(accept) == bool(reject):
        raise InvalidEdit("Not saved: say which candidate to accept or to reject (one of them).")
    if accept:
        result = curation.accept_candidate(
            get_session(), article_id, g.user, version=form_version(), key=accept
        )
    else:
        result = curation.reject_candidate(
            get_session(), article_id, g.user, version=form_version(), key=reject
        )
    return _respond(result)


@bp.post("/<int:article_id>/undo")
def undo(article_id: int):
    """Undo the newest edit of the draft."""
    return _respond(curation.undo(get_session(), article_id, g.user, version=form_version()))


@bp.post("/<int:article_id>/finish")
def finish(article_id: int):
    """Save the draft as the article's gold (open candidates need ``confirm=1``)."""
    result = curation.finish(
        get_session(), article_id, g.user, version=form_version(), confirm=request.form.get("confirm") == "1"
    )
    if is_htmx():
        # The whole view changes (read-only, with its gold revision): reload it.
        flash(result.message, "info")
        return "", 200, {"HX-Redirect": url_for("curation.show", article_id=article_id)}
    flash(result.message, "info")
    return redirect(url_for("curation.show", article_id=article_id), code=303)


@bp.post("/<int:article_id>/reopen")
def reopen(article_id: int):
    """Start a new draft from the article's gold."""
    result = curation.reopen(get_session(), article_id, g.user, version=form_version())
    flash(result.message, "info")
    return redirect(url_for("curation.show", article_id=article_id), code=303)
