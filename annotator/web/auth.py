"""Log in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from annotator.db import get_session
from annotator.services.users import authenticate

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a link send users anywhere.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("annotate.list_articles")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form and log the user in."""
    if request.method == "POST":
        user = authenticate(get_session(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            flash("Incorrect username or password.", "error")
            return render_template("auth/login.html", username=request.form.get("username", "")), 401
        # A fresh session on login, so a token planted before it is worthless.
        session.clear()
        session["user_id"] = user.id
        return redirect(_safe_next(request.args.get("next")), code=303)
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():
    """Log the user out."""
    session.clear()
    return redirect(url_for("auth.login"), code=303)
