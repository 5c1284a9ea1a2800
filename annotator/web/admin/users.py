"""Admin: users (being built)."""

from __future__ import annotations

from flask import Blueprint

from annotator.web.access import admins_only

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
bp.before_request(admins_only)


@bp.get("/")
def list_users():
    """Placeholder until this page is built."""
    return "Not built yet."
