"""Reviewers answer an annotator's flag, or send their version back to them with a note."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for

from annotator.db import get_session
from annotator.models import Role
from annotator.services import flags

bp = Blueprint("flags", __name__, url_prefix="/flags")


@bp.before_request
def _reviewers_only():
    # The services check too; this closes every route of the blueprint to annotators at once.
    if g.user.role == Role.ANNOTATOR.value:
        abort(403, description="Only reviewers and admins answer flags and send work back.")


def _back(external_id: str, annotator: str):
    """Redirect (303) to where the form was: the flagged list, or the annotator's version of the article."""
    if request.form.get("back") == "queue":
        return redirect(url_for("queue.show", state="flagged"), code=303)
    return redirect(url_for("annotate.show_article", external_id=external_id, annotator=annotator), code=303)


@bp.post("/<int:article_id>/answer")
def answer(article_id: int):
    """Answer the flag an annotator raised on the article; the version stays flagged."""
    annotator = request.form.get("annotator", "")
    external_id = flags.answer_flag(
        get_session(), article_id, g.user, annotator=annotator, note=request.form.get("note", "")
    )
    flash(f"Answered {annotator}'s flag on {external_id}; they see your note on the article.", "info")
    return _back(external_id, annotator)


@bp.post("/<int:article_id>/send-back")
def send_back(article_id: int):
    """Send an annotator's accepted or flagged version back to them, in progress, with a note."""
    annotator = request.form.get("annotator", "")
    external_id = flags.send_back(
        get_session(), article_id, g.user, annotator=annotator, note=request.form.get("note", "")
    )
    flash(
        f"Sent {external_id} back to {annotator}: it is in progress again, first in their queue, with your note.",
        "info",
    )
    return _back(external_id, annotator)
