"""Feedback for annotators: their accepted version of an article against its gold, read-only."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from annotator.db import get_session
from annotator.services import feedback as feedback_service
from annotator.web import project_settings

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


@bp.get("/<int:article_id>")
def show(article_id: int):
    """Show where the user's accepted version (for reviewers, ``?annotator=``'s) differs from gold."""
    report = feedback_service.feedback(
        get_session(),
        article_id,
        g.user,
        project_settings(),
        annotator=request.args.get("annotator") or None,
    )
    return render_template("feedback/page.html", report=report)
