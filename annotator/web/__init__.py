"""The web layer: blueprints per workflow, login guard, CSRF protection, security headers."""

from __future__ import annotations

import contextlib
import functools
import hmac
import secrets

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ServiceUnavailable, default_exceptions

from annotator.db import (
    close_session,
    commit_outcome_unknown,
    database_problem,
    get_engine,
    get_session,
    unavailable_reason,
)
from annotator.errors import Forbidden, InvalidEdit, InvalidSpan, NotFound, SpanOverlap, StaleVersion
from annotator.labels import CASUALTY_ATTRIBUTES, LABELS
from annotator.services.sessions import check_session
from annotator.web.api import is_api_request
from annotator.web.params import BoundedIntConverter, ExternalIdConverter
from annotator.wording import indefinite

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TOKEN = "sid"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Endpoints reachable without a login.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "health", "readyz"})
# While an admin's reset stands (must_change_password), only these answer: choosing a new password, logging out.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"account.password", "auth.login", "auth.logout"})
# Public endpoints that never look at the user: they answer even when the database does not.
USERLESS_ENDPOINTS = frozenset({"static", "health", "readyz"})
# The errors that may mean the database is down, locked, read-only or full (db.unavailable_reason decides).
DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# Seconds a client is asked to wait before retrying when the database is unavailable.
RETRY_AFTER_SECONDS = 5
# The HTTP status each domain error is answered with.
ERROR_STATUS = {
    NotFound: 404,
    Forbidden: 403,
    StaleVersion: 409,
    SpanOverlap: 422,
    InvalidSpan: 422,
    InvalidEdit: 422,
}
# Scripts and styles come from this origin's files only: no inline script, no CDN, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def is_htmx() -> bool:
    """Return whether the current request was sent by htmx."""
    return request.headers.get("HX-Request") == "true"


def csrf_token() -> str:
    """Return the session's CSRF token, creating it on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        abort(
            400,
            description="The form's security token is missing or expired. Reload the page and try again.",
        )


def _here() -> str:
    """Return this request's URL as url_for builds it, so odd article ids survive the round trip."""
    if request.method == "GET" and request.endpoint:
        # url_for reads names starting with "_" as its own options; a query string may not set them.
        query = {key: value for key, value in request.args.items() if not key.startswith("_")}
        return url_for(request.endpoint, **{**query, **(request.view_args or {})})
    return request.full_path.rstrip("?")


def _check_session(token: str):
    """Return the user the session token names (and keep the settings that come with it), on every request.

    The request's first statement: when its pooled connection turns out dead
    (a restart the pool did not see), it is asked once more on a new one.
    """
    try:
        found = check_session(get_session(), token)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        close_session()
        found = check_session(get_session(), token)
    if found is None:
        return None
    user, g.project_settings = found
    return user


def _load_user_and_guard() -> object | None:
    # g outlives a request when an app context is already pushed (pytest-flask does).
    g.pop("progress", None)
    g.pop("project_settings", None)
    if request.endpoint in USERLESS_ENDPOINTS:
        g.user = None
        return None
    if is_api_request():
        # The API authenticates with its tokens (web/api), never with this cookie session.
        g.user = None
        return None
    token = session.get(SESSION_TOKEN)
    g.user = _check_session(token) if token else None
    if token and g.user is None:
        # Logged out elsewhere, expired or deactivated: forget the dead token (the CSRF
        # token may stay, so a login form already on screen still works).
        session.pop(SESSION_TOKEN)
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.endpoint is None:
            return None  # let the 404 handler answer
        if is_htmx():
            # A redirect would swap the login page into a fragment; ask htmx to navigate.
            return "", 401, {"HX-Redirect": url_for("auth.login")}
        return redirect(url_for("auth.login", next=_here()))
    if (
        g.user is not None
        and g.user.must_change_password
        and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
    ):
        flash("An admin reset your password: choose a new one before going on.", "error")
        if is_htmx():
            return "", 204, {"HX-Redirect": url_for("account.password")}
        return redirect(url_for("account.password"), code=303)
    _check_csrf()
    return None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        # Pages carry one user's work and a CSRF token: no cache may keep them.
        response.headers["Cache-Control"] = "no-store"
    return response


def project_settings():
    """Return the project's settings, read once per request."""
    from annotator.services.settings import load_settings

    if "project_settings" not in g:
        g.project_settings = load_settings(get_session())
    return g.project_settings


def progress():
    """Return the logged-in user's and the team's progress, computed once per request."""
    from annotator.services.progress import progress as count_progress

    if "progress" not in g:
        g.progress = count_progress(get_session(), g.user.id, project_settings())
    return g.progress


def exact_text(text: str) -> Markup:
    """Escape text for HTML so that the browser's text content is exactly ``text``.

    The HTML parser turns a raw carriage return into a line feed; as a character
    reference it survives, so character offsets into the text stay right.
    """
    return Markup(str(escape(text)).replace("\r", "&#13;"))


def init_app(app: Flask) -> None:
    """Register the blueprints, the login guard, CSRF checks, headers and error pages."""
    from annotator.web import (
        account,
        accuracy,
        admin,
        annotate,
        api,
        auth,
        curation,
        feedback,
        flags,
        gold,
        guidelines,
        queue,
        review,
        team,
    )

    # Ids too large for the database are no article's: 404, not an overflow deep inside.
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["external_id"] = ExternalIdConverter
    # Article ids may hold "//"; merging slashes would open another article.
    app.url_map.merge_slashes = False
    app.before_request(_load_user_and_guard)
    app.after_request(_security_headers)
    app.register_blueprint(auth.bp)
    app.register_blueprint(annotate.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(gold.bp)
    app.register_blueprint(guidelines.bp)
    app.register_blueprint(accuracy.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(curation.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(flags.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(account.bp)
    admin.register(app)
    api.register(app)
    app.add_template_filter(exact_text, "exact")
    app.add_template_filter(indefinite, "indefinite")

    @app.context_processor
    def inject_globals() -> dict:
        return {
            "csrf_token": csrf_token,
            "is_htmx": is_htmx,
            "progress": progress,
            "LABELS": LABELS,
            "CASUALTY_ATTRIBUTES": CASUALTY_ATTRIBUTES,
        }

    @app.get("/")
    def index():
        """Send the visitor to the article list."""
        return redirect(url_for("annotate.list_articles"))

    @app.get("/healthz", endpoint="health")
    def health():
        """Answer a load balancer's liveness probe."""
        return {"status": "ok"}

    @app.get("/readyz", endpoint="readyz")
    def readiness():
        """Answer a load balancer's readiness probe: ready only when a query reaches the database."""
        problem = database_problem(get_engine())
        if problem is not None:
            return (
                {"status": "unavailable", "database": problem},
                503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return {"status": "ready", "database": "ok"}

    for code in (400, 401, 403, 404, 405, 409, 413, 422, 429):
        app.register_error_handler(code, render_error)
    for error_class in ERROR_STATUS:
        app.register_error_handler(error_class, _render_domain_error)
    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, render_database_unavailable)


def render_database_unavailable(error: Exception):
    """Answer 503 when the database cannot be reached or written; let any other database error be a 500.

    The page (for htmx, the message fragment) says what became of the request and
    is rendered without a query: the database just failed, and asking it again
    would only raise a second error.
    """
    reason = unavailable_reason(error)
    if reason is None:
        raise error
    writing = request.method not in SAFE_METHODS
    outcome_unknown = writing and commit_outcome_unknown(error)
    # Roll back what the request did. Its connection may be gone already; the pool replaces it.
    with contextlib.suppress(SQLAlchemyError):
        close_session()
    # The rollback expired the user's attributes, and loading them would query.
    g.user = None
    current_app.logger.warning(
        "database unavailable on %s %s%s: %s",
        request.method,
        request.path,
        " while committing, outcome unknown" if outcome_unknown else "",
        reason,
    )
    message = _unavailable_message(writing, outcome_unknown)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if is_htmx():
        fragment = render_template("annotate/_message.html", message=message, message_kind="error", oob=True)
        return fragment, 503, headers
    return render_template("error.html", error=ServiceUnavailable(description=message)), 503, headers


def _unavailable_message(writing: bool, outcome_unknown: bool) -> str:
    if outcome_unknown:
        return (
            "The database stopped answering while your last edit was being saved, so it may not have "
            "been saved. Reload the page in a moment to see what was saved."
        )
    if writing and request.endpoint == "auth.login":
        return "The database is unavailable, so you could not be logged in. Retry in a moment."
    if writing:
        return "The database is unavailable, so your last edit was not saved. Retry it in a moment."
    return "The database is unavailable, so this could not be loaded. Retry in a moment."


def answers_503_when_the_database_fails(handler):
    """Wrap an error handler that queries, so that the database failing under it answers 503, not 500."""

    @functools.wraps(handler)
    def handle(error):
        try:
            return handler(error)
        except DATABASE_ERRORS as database_error:
            return render_database_unavailable(database_error)

    return handle


# The page's top bar counts the user's progress: a query.
@answers_503_when_the_database_fails
def render_error(error):
    """Render an HTTP error as a page, for htmx as a fragment, and for the API as JSON."""
    if is_api_request():
        from annotator.web.api.errors import api_error

        return api_error(error.code, error.description or error.name)
    template = "_error.html" if is_htmx() else "error.html"
    return render_template(template, error=error), error.code


def _render_domain_error(error):
    status = next(code for cls, code in ERROR_STATUS.items() if isinstance(error, cls))
    return render_error(default_exceptions[status](description=str(error)))
