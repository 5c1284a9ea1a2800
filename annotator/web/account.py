"""Every user's own account: change the password, and create and revoke personal API tokens.

When an admin has reset the password, the login guard (web/__init__.py)
sends every page here until a new one is chosen.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from annotator.db import get_session
from annotator.services import api_tokens, passwords, users

bp = Blueprint("account", __name__, url_prefix="/account")

SESSION_TOKEN = "sid"


def _account_page(*, status: int = 200, error: str | None = None, shown_token: str | None = None):
    tokens = api_tokens.list_tokens(get_session(), g.user.id)
    page = render_template("account/page.html", tokens=tokens, error=error, shown_token=shown_token)
    return page, status


@bp.get("/")
def show():
    """Show the user's account: a link to change the password, and their API tokens."""
    return _account_page()


@bp.route("/password", methods=("GET", "POST"))
def password():
    """Show the form for a new password, and change the password (current one first, the new one twice)."""
    if request.method == "GET":
        return render_template("account/password.html", policy=passwords.POLICY)
    current = request.form.get("current", "")
    new = request.form.get("new", "")
    error = None
    if new != request.form.get("repeat", ""):
        error = "The new password and its repetition differ; type the same one twice."
    else:
        try:
            # Every session of the user ends, this one included, and this browser gets a fresh one:
            # a session stolen before the change is worthless after it (see change_own_password).
            token = users.change_own_password(
                get_session(), g.user, current, new, lifetime=current_app.permanent_session_lifetime
            )
        except (users.WrongPassword, passwords.WeakPassword) as refused:
            error = _sentence(refused)
    if error is not None:
        return render_template("account/password.html", policy=passwords.POLICY, error=error), 422
    session[SESSION_TOKEN] = token
    flash("Your password is changed. Your other sessions have ended; this one goes on.", "info")
    return redirect(url_for("account.show"), code=303)


@bp.post("/tokens")
def create_token():
    """Create a personal API token; its secret is shown once, on the page this answers."""
    try:
        _, secret = api_tokens.issue(get_session(), g.user, request.form.get("name", ""), actor=g.user)
    except ValueError as error:
        return _account_page(status=422, error=_sentence(error))
    return _account_page(shown_token=secret)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of the user's own API tokens (another user's token is not found)."""
    token = api_tokens.revoke(get_session(), g.user, token_id, actor=g.user)
    flash(f"Token {token.name!r} ({token.prefix}…) is revoked.", "info")
    return redirect(url_for("account.show"), code=303)


def _sentence(error: Exception) -> str:
    text = str(error).strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
