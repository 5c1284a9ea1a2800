"""The curation view: a reviewer turns an article's versions into its gold (see services/curation)."""

from __future__ import annotations

from flask import Blueprint, abort, g

from annotator.models import Role

bp = Blueprint("curation", __name__, url_prefix="/curate")


@bp.before_request
def _reviewers_only():
    if g.user.role == Role.ANNOTATOR.value:
        abort(403, description="Adjudication makes gold: reviewers and admins only.")


@bp.get("/<int:article_id>")
def show(article_id: int):
    """Show the draft gold of the article over its text, with the candidates still open."""
    return f"Curation of article {article_id}: not built yet."
