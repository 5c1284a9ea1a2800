"""Admin: users. Add them, change roles, reset passwords, deactivate, manage their API tokens and claims.

Each action is one POST that calls one service of services/users,
services/api_tokens or services/assignment, which records it in the audit log.
A refused action (a weak password, the last admin) re-renders the page with
the reason and writes nothing. Secrets (a generated password, a new token) are
rendered once in the answer to the POST, never put in the cookie's flash.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from annotator.db import get_session
from annotator.errors import InvalidEdit, NotFound, UserExists
from annotator.models import Role
from annotator.services import api_tokens, assignment, passwords, users
from annotator.services.settings import load_settings
from annotator.web.access import admins_only

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
bp.before_request(admins_only)

ROLES = [role.value for role in Role]


def _list_page(*, status: int = 200, error: str | None = None, form: dict | None = None):
    page = render_template(
        "admin/users/list.html",
        overviews=users.list_user_overviews(get_session()),
        roles=ROLES,
        policy=passwords.POLICY,
        error=error,
        form=form or {"role": Role.ANNOTATOR.value, "must_change_password": True},
    )
    return page, status


def _user_page(
    username: str,
    *,
    status: int = 200,
    error: str | None = None,
    shown_password: str | None = None,
    shown_token: str | None = None,
):
    session = get_session()
    user = _user_named(username)
    page = render_template(
        "admin/users/user.html",
        user=user,
        roles=ROLES,
        policy=passwords.POLICY,
        tokens=api_tokens.list_tokens(session, user.id),
        claims=assignment.claims_of(session, user.id, load_settings(session)),
        error=error,
        shown_password=shown_password,
        shown_token=shown_token,
    )
    return page, status


@bp.get("/")
def list_users():
    """List every user with their role, whether they may log in, and their live tokens and sessions."""
    return _list_page()


@bp.post("/")
def add_user():
    """Add a user with an initial password (typed, or generated and shown once)."""
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    typed = request.form.get("password", "")
    must_change = request.form.get("must_change_password") == "1"
    form = {"username": username, "role": role, "must_change_password": must_change}
    if role not in ROLES:
        return _list_page(status=422, error="Choose a role: annotator, reviewer or admin.", form=form)
    password = typed or passwords.generate_password(username=username)
    try:
        user = users.add_user(
            get_session(), username, password, role=role, must_change_password=must_change, actor=g.user
        )
    except (passwords.WeakPassword, UserExists, ValueError) as error:
        return _list_page(status=422, error=_sentence(error), form=form)
    if not typed:
        return _user_page(user.username, shown_password=password)
    flash(f"Added {user.role} {user.username!r}.", "info")
    return redirect(url_for("admin_users.show_user", username=user.username), code=303)


@bp.get("/<username>")
def show_user(username: str):
    """Show one user: role, password reset, activation, API tokens and claims."""
    return _user_page(username)


@bp.post("/<username>/role")
def change_role(username: str):
    """Give the user another role (their sessions end)."""
    role = request.form.get("role", "")
    if role not in ROLES:
        return _user_page(username, status=422, error="Choose a role: annotator, reviewer or admin.")
    try:
        old, ended = users.set_role(get_session(), username, role, actor=g.user)
    except users.LastAdmin as error:
        return _user_page(username, status=409, error=_sentence(error))
    if old == role:
        flash(f"{username!r} is already {role}; nothing changed.", "info")
    else:
        flash(f"{username!r} is now {role} (was {old}); {_sessions(ended)} ended.", "info")
    return redirect(url_for("admin_users.show_user", username=username), code=303)


@bp.post("/<username>/password")
def reset_password(username: str):
    """Give the user a temporary password (typed, or generated and shown once) to change at their next login."""
    typed = request.form.get("password", "")
    temporary = typed or passwords.generate_password(username=username)
    try:
        ended = users.reset_password(get_session(), username, temporary, actor=g.user)
    except (passwords.WeakPassword, InvalidEdit) as error:
        return _user_page(username, status=422, error=_sentence(error))
    flash(
        f"{username!r} has a temporary password and must choose a new one at their next login; "
        f"{_sessions(ended)} ended.",
        "info",
    )
    if typed:
        return redirect(url_for("admin_users.show_user", username=username), code=303)
    return _user_page(username, shown_password=temporary)


@bp.get("/<username>/active")
def confirm_active(username: str):
    """Ask the admin to confirm deactivating (or reactivating) the user, saying what it does."""
    user = _user_named(username)
    (overview,) = users.list_user_overviews(get_session(), username=user.username)
    return render_template("admin/users/confirm_active.html", overview=overview, user=user)


@bp.post("/<username>/active")
def set_active(username: str):
    """Deactivate (ending their sessions and revoking their tokens) or reactivate the user, as confirmed."""
    active = request.form.get("active")
    if active not in ("0", "1"):
        return _user_page(username, status=422, error="Say whether to activate or deactivate the user.")
    try:
        ended = users.set_active(get_session(), username, active == "1", actor=g.user)
    except users.LastAdmin as error:
        return _user_page(username, status=409, error=_sentence(error))
    if active == "1":
        flash(f"{username!r} may log in again. Tokens revoked at deactivation stay revoked.", "info")
    else:
        flash(
            f"{username!r} is deactivated: {_sessions(ended)} ended and their API tokens revoked; "
            "their work is kept.",
            "info",
        )
    return redirect(url_for("admin_users.show_user", username=username), code=303)


@bp.post("/<username>/tokens")
def create_token(username: str):
    """Create an API token for the user; its secret is shown once, on the page this answers."""
    session = get_session()
    user = _user_named(username)
    try:
        _, secret = api_tokens.issue(session, user, request.form.get("name", ""), actor=g.user)
    except ValueError as error:
        return _user_page(username, status=422, error=_sentence(error))
    return _user_page(username, shown_token=secret)


@bp.post("/<username>/tokens/<int:token_id>/revoke")
def revoke_token(username: str, token_id: int):
    """Revoke one of the user's API tokens."""
    session = get_session()
    user = _user_named(username)
    token = api_tokens.revoke(session, user, token_id, actor=g.user)
    flash(f"Token {token.name!r} ({token.prefix}…) of {username!r} is revoked.", "info")
    return redirect(url_for("admin_users.show_user", username=username), code=303)


@bp.get("/<username>/claims")
def claims(username: str):
    """List the articles the user holds and has not finished, each with a choice of annotator to move it to."""
    session = get_session()
    user = _user_named(username)
    annotators = [
        each.username
        for each in users.list_users(session)
        if each.is_active and each.role == Role.ANNOTATOR.value and each.id != user.id
    ]
    return render_template(
        "admin/users/claims.html",
        user=user,
        claims=assignment.claims_of(session, user.id, load_settings(session)),
        annotators=annotators,
    )


@bp.get("/<username>/claims/<int:article_id>/reassign")
def confirm_reassign(username: str, article_id: int):
    """Show what moving the user's claim on the article to another annotator does, and ask to confirm."""
    target = request.args.get("to", "")
    try:
        plan = assignment.plan_reassignment(get_session(), article_id, username, target)
    except InvalidEdit as error:
        flash(_sentence(error), "error")
        return redirect(url_for("admin_users.claims", username=username), code=303)
    return render_template("admin/users/confirm_reassign.html", plan=plan)


@bp.post("/<username>/claims/<int:article_id>/reassign")
def reassign(username: str, article_id: int):
    """Move the user's claim on the article to another annotator, as confirmed."""
    target = request.form.get("to", "")
    try:
        plan = assignment.reassign_claim(get_session(), article_id, username, target, actor=g.user)
    except InvalidEdit as error:
        flash(_sentence(error), "error")
        return redirect(url_for("admin_users.claims", username=username), code=303)
    flash(
        f"{plan.external_id} is now assigned to {plan.to_username}; {plan.from_username}'s claim is released "
        "and their working copy kept.",
        "info",
    )
    return redirect(url_for("admin_users.claims", username=username), code=303)


def _user_named(username: str):
    user = users.get_user_by_name(get_session(), username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def _sentence(error: Exception) -> str:
    """Return an error's message as a sentence: capitalised, with a full stop."""
    text = str(error).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"
