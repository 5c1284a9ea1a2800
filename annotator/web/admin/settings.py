"""Admin: the project settings, each with its value, default and help, changed one at a time.

Each setting is its own form (a self-targeting htmx fragment, and a plain form
without JS), so saving one never re-saves the others. A value goes through
the same parser as `annotator config set`; a refused one is shown next to its
field and nothing is saved. A change of how many annotators an article needs
first shows what it does to the articles already started.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.services.settings import (
    DEFINITIONS,
    BadSetting,
    parse_setting,
    set_setting,
    setting_entries,
    shown,
)
from annotator.services.staffing import staffing_change
from annotator.web import is_htmx, project_settings
from annotator.web.access import admins_only

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/settings")
bp.before_request(admins_only)


@bp.get("/")
def show():
    """List every project setting with its value, default and what it does."""
    return render_template("admin/settings/page.html", entries=setting_entries(get_session()))


@bp.post("/<name>")
def change(name: str):
    """Change one setting; a change of staffing first shows what it does to started articles."""
    if name not in DEFINITIONS:
        abort(404, description=f"There is no setting {name!r}.")
    raw = request.form.get("value", "")
    session = get_session()
    try:
        changed = shown(name, parse_setting(name, raw)) != _entry(name).value
        if changed and not request.form.get("confirm"):
            impact = staffing_change(session, name, raw, project_settings())
            if impact is not None and impact.matters:
                return _answer(name, status=200, raw=raw, impact=impact)
        value = set_setting(session, name, raw, actor=g.user)
    except BadSetting as error:
        return _answer(name, status=422, raw=raw, error=str(error))
    message = f"Saved: {name} = {shown(name, value)}."
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("admin_settings.show", _anchor=f"setting-{name}"), code=303)
    return _answer(name, status=200, message=message)


def _entry(name: str):
    return next(entry for entry in setting_entries(get_session()) if entry.name == name)


def _answer(name: str, *, status: int, **context):
    """Answer with the setting's fragment for htmx, or the whole page with that setting's outcome in it."""
    context = {"outcome_of": name, **context}
    if is_htmx():
        body = render_template("admin/settings/_setting.html", entry=_entry(name), **context)
    else:
        body = render_template("admin/settings/page.html", entries=setting_entries(get_session()), **context)
    return body, status, {"Vary": "HX-Request"}
