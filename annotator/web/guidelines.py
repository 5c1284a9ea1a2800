"""The annotation guidelines, one click from every article."""

from __future__ import annotations

from flask import Blueprint, render_template

from annotator.services.guidelines import load_guidelines

bp = Blueprint("guidelines", __name__, url_prefix="/guidelines")


@bp.get("/")
def show():
    """Show the annotation guidelines."""
    return render_template("guidelines/page.html", guidelines=load_guidelines())
