"""Administration in the browser: users, import, export, deletion, settings and the audit log.

Each workflow is its own blueprint under /admin, and every one of them refuses
anyone but admins on the server (``access.admins_only``). The pages call the
same services as the command line.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from annotator.web.access import admins_only

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(admins_only)


@bp.get("/")
def index():
    """The admin's start page: one link per workflow."""
    return render_template("admin/index.html")


def register(app: Flask) -> None:
    """Register the admin blueprints."""
    from annotator.web.admin import audit, exports, imports, settings, users

    app.register_blueprint(bp)
    for module in (users, imports, exports, settings, audit):
        app.register_blueprint(module.bp)
