"""Admin: the audit log, newest first, filtered by kind of action and by who acted, and as a CSV file."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from sqlmodel import Session

from annotator.db import get_engine, get_session
from annotator.services import audit
from annotator.web.access import admins_only
from annotator.web.params import bounded_int

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")
bp.before_request(admins_only)

PAGE_SIZE = audit.PAGE_SIZE
# Longer than any action name or username: longer input cannot match, so it is refused.
MAX_FILTER = 80


def _filters() -> dict[str, str | None]:
    """Return the action prefix and actor the query string filters by (None: any)."""
    action = request.args.get("action", "").strip() or None
    actor = request.args.get("actor", "").strip() or None
    for name, value in (("action", action), ("actor", actor)):
        if value is not None and len(value) > MAX_FILTER:
            abort(400, description=f"The {name} filter is too long.")
    return {"action": action, "actor": actor}


@bp.get("/")
def show():
    """List the audit events, newest first, a page at a time (?before=<id> for older ones)."""
    filters = _filters()
    before = None
    if "before" in request.args:
        before = request.args.get("before", type=bounded_int)
        if before is None:
            abort(400, description="before must be an event number.")
    session = get_session()
    page = audit.list_events(session, before=before, limit=PAGE_SIZE, **filters)
    return render_template(
        "admin/audit/page.html",
        page=page,
        filters=filters,
        before=before,
        groups=audit.ACTION_GROUPS,
        actors=audit.actor_names(session),
        compact=audit.compact,
    )


@bp.get("/audit.csv")
def download():
    """Download the filtered audit log as CSV, streamed."""
    filters = _filters()
    engine = get_engine()

    def lines():
        # Its own session: the request's is closed at teardown, before the body is sent.
        with Session(engine) as session:
            yield from audit.csv_lines(session, **filters)

    return Response(
        lines(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
