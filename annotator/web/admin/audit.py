"""Admin: audit (being built)."""

from __future__ import annotations

from flask import Blueprint

from annotator.web.access import admins_only

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")
bp.before_request(admins_only)


@bp.get("/")
def show():
    """Placeholder until this page is built."""
    return "Not built yet."
