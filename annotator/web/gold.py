"""Reviewers change an article's gold: mark a version as gold, see the gold's history, restore a revision.

Each change is a GET that shows what would be replaced and a POST that
confirms it, naming the revision it replaces; nothing changes on a GET.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.errors import InvalidEdit, StaleVersion
from annotator.models import Role
from annotator.services import gold_revisions
from annotator.web.params import bounded_int

bp = Blueprint("gold", __name__, url_prefix="/gold")


@bp.before_request
def _reviewers_only():
    # The services check too; this keeps every route of the blueprint closed to annotators at once.
    if g.user is not None and g.user.role == Role.ANNOTATOR.value:
        abort(403, description="Only reviewers and admins can change an article's gold.")


def _replaces() -> int:
    value = request.form.get("replaces", type=bounded_int)
    if value is None:
        abort(400, description="The confirmation says nothing of the gold it replaces; open it again.")
    return value


def _confirm_page(change, *, status: int = 200, message: str | None = None, reason: str = ""):
    return render_template("gold/confirm.html", change=change, message=message, reason=reason), status


@bp.get("/<int:article_id>/promote")
def confirm_promotion(article_id: int):
    """Show what marking an annotator's version as the article's gold would replace."""
    annotator = request.args.get("annotator", "")
    change = gold_revisions.plan_promotion(get_session(), article_id, g.user, annotator)
    return _confirm_page(change)


@bp.post("/<int:article_id>/promote")
def promote(article_id: int):
    """Make an annotator's version the article's gold, as confirmed."""
    annotator = request.form.get("annotator", "")
    reason = request.form.get("reason", "")
    try:
        change, revision = gold_revisions.promote(
            get_session(), article_id, g.user, annotator, reason=reason, replaces=_replaces()
        )
    except (InvalidEdit, StaleVersion) as error:
        change = gold_revisions.plan_promotion(get_session(), article_id, g.user, annotator)
        return _confirm_page(change, status=_status(error), message=str(error), reason=reason)
    flash(
        f"The gold of this article is now {change.incoming} ({len(change.spans)} spans), as revision "
        f"{revision.revision}; the gold it replaced is kept in the history.",
        "info",
    )
    return redirect(
        url_for("annotate.show_article", external_id=change.external_id, annotator=annotator), code=303
    )


@bp.get("/<int:article_id>/history")
def history(article_id: int):
    """List every gold the article has had, newest first."""
    return render_template(
        "gold/history.html", history=gold_revisions.gold_history(get_session(), article_id, g.user)
    )


@bp.get("/<int:article_id>/restore")
def confirm_restore(article_id: int):
    """Show what making an earlier revision the article's gold again would replace."""
    revision = request.args.get("revision", type=bounded_int)
    if revision is None:
        abort(400, description="Say which revision to restore.")
    change = gold_revisions.plan_restore(get_session(), article_id, g.user, revision)
    return _confirm_page(change)


@bp.post("/<int:article_id>/restore")
def restore(article_id: int):
    """Make an earlier revision the article's gold again, as confirmed."""
    revision = request.form.get("revision", type=bounded_int)
    if revision is None:
        abort(400, description="Say which revision to restore.")
    reason = request.form.get("reason", "")
    try:
        change, new = gold_revisions.restore(
            get_session(), article_id, g.user, revision, reason=reason, replaces=_replaces()
        )
    except (InvalidEdit, StaleVersion) as error:
        change = gold_revisions.plan_restore(get_session(), article_id, g.user, revision)
        return _confirm_page(change, status=_status(error), message=str(error), reason=reason)
    flash(f"Revision {revision} is the gold again, as revision {new.revision}.", "info")
    return redirect(url_for("gold.history", article_id=article_id), code=303)


def _status(error: Exception) -> int:
    return 409 if isinstance(error, StaleVersion) else 422
