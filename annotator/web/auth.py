"""Log in and out."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from annotator.db import get_session
from annotator.errors import LoginFailed, LoginThrottled
from annotator.services import sessions
from annotator.services.login_throttle import ThrottlePolicy
from annotator.services.users import log_in

bp = Blueprint("auth", __name__, url_prefix="/auth")

SESSION_TOKEN = "sid"
# Longer names are no user's: cut them before they reach the throttle's keys and the log.
MAX_USERNAME = 80


def _safe_next(target: str | None) -> str:
    """Return ``target`` when it is a page of this app that a GET can fetch, else the article list."""
    fallback = url_for("annotate.list_articles")
    # Only same-site paths: an open redirect would let a link send users anywhere.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return fallback
    # A POST-only route (logout, an edit) would land on a 405 page.
    adapter = current_app.url_map.bind("localhost", script_name=request.script_root or "/")
    try:
        adapter.match(urlsplit(target).path, method="GET")
    except HTTPException:
        return fallback
    return target


def throttle_policy() -> ThrottlePolicy:
    """Return the login throttle's limits from the app's settings."""
    config = current_app.config
    return ThrottlePolicy(
        per_account=config["LOGIN_MAX_FAILURES"],
        per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        window=timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]),
    )


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form and log the user in."""
    if request.method == "GET":
        return render_template("auth/login.html", username="")
    username = request.form.get("username", "").strip()[:MAX_USERNAME]
    address = request.remote_addr or "unknown"
    try:
        user, token = log_in(
            get_session(),
            username,
            request.form.get("password", ""),
            address=address,
            policy=throttle_policy(),
            lifetime=current_app.permanent_session_lifetime,
        )
    except LoginThrottled as error:
        current_app.logger.warning("login throttled for account %r from %s", username, address)
        flash(str(error), "error")
        page = render_template("auth/login.html", username=username)
        return page, 429, {"Retry-After": str(error.retry_after)}
    except LoginFailed as error:
        current_app.logger.warning("failed login for account %r from %s", username, address)
        flash(str(error), "error")
        return render_template("auth/login.html", username=username), 401
    # A fresh cookie on login, so a token planted before it is worthless.
    session.clear()
    session[SESSION_TOKEN] = token
    session.permanent = True
    current_app.logger.info("login of %r from %s", user.username, address)
    return redirect(_safe_next(request.args.get("next")), code=303)


@bp.post("/logout")
def logout():
    """Log the user out, ending the session on the server too."""
    token = session.get(SESSION_TOKEN)
    if token:
        sessions.end_session(get_session(), token)
    session.clear()
    return redirect(url_for("auth.login"), code=303)
