"""The web layer: blueprints per workflow, login guard, CSRF protection, security headers."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, g, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import default_exceptions

from annotator.db import get_session
from annotator.errors import Forbidden, InvalidEdit, InvalidSpan, NotFound, SpanOverlap, StaleVersion
from annotator.labels import CASUALTY_ATTRIBUTES, LABELS
from annotator.services.sessions import user_for_token
from annotator.web.params import BoundedIntConverter, ExternalIdConverter
from annotator.wording import indefinite

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TOKEN = "sid"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Endpoints reachable without a login.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "health"})
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
        return url_for(request.endpoint, **(request.view_args or {}), **request.args.to_dict())
    return request.full_path.rstrip("?")


def _load_user_and_guard() -> object | None:
    # g outlives a request when an app context is already pushed (pytest-flask does).
    g.pop("progress", None)
    token = session.get(SESSION_TOKEN)
    g.user = user_for_token(get_session(), token) if token else None
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
    _check_csrf()
    return None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        # Pages carry one user's work and a CSRF token: no cache may keep them.
        response.headers["Cache-Control"] = "no-store"
    return response


def progress():
    """Return the logged-in user's and the team's progress, computed once per request."""
    from annotator.services.queue import progress as count_progress

    if "progress" not in g:
        g.progress = count_progress(get_session(), g.user.id)
    return g.progress


def exact_text(text: str) -> Markup:
    """Escape text for HTML so that the browser's text content is exactly ``text``.

    The HTML parser turns a raw carriage return into a line feed; as a character
    reference it survives, so character offsets into the text stay right.
    """
    return Markup(str(escape(text)).replace("\r", "&#13;"))


def init_app(app: Flask) -> None:
    """Register the blueprints, the login guard, CSRF checks, headers and error pages."""
    from annotator.web import accuracy, annotate, auth, gold, guidelines, review

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

    for code in (400, 401, 403, 404, 405, 409, 413, 422, 429):
        app.register_error_handler(code, render_error)
    for error_class in ERROR_STATUS:
        app.register_error_handler(error_class, _render_domain_error)


def render_error(error):
    """Render an HTTP error as a page, or for htmx as a fragment."""
    template = "_error.html" if is_htmx() else "error.html"
    return render_template(template, error=error), error.code


def _render_domain_error(error):
    status = next(code for cls, code in ERROR_STATUS.items() if isinstance(error, cls))
    return render_error(default_exceptions[status](description=str(error)))
