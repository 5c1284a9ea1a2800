"""annotator: a workbench for turning conflict news into gold-standard training data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return a top-level folder (templates, static, seeds) in a checkout or an installed wheel."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the annotator web app."""
    # Imported here so `annotator.nlp` stays usable without the web stack loaded.
    from flask import Flask

    from annotator import config, db, web

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.defaults())
    app.config.from_mapping(
        DATABASE_URL=config.default_database_url(app.instance_path),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The login session ends at a fixed time on the server (services/sessions), and the cookie
        # set at login expires with it: re-signing an unchanged cookie on every answer would only
        # cost CPU on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
        DEMO=False,
    )
    if test_config is None:
        app.config.update(config.settings_from_env(os.environ))
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_or_create_secret_key(app.instance_path)
    _apply_settings(app)

    db.init_app(app)
    web.init_app(app)
    return app


def _apply_settings(app: Flask) -> None:
    """Turn annotator's settings into the Flask and Werkzeug options they stand for."""
    from datetime import timedelta

    from werkzeug.middleware.proxy_fix import ProxyFix

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SECURE_COOKIES"])
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_REQUEST_MB"] * 1024 * 1024)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Only then is X-Forwarded-For the client: without a proxy anyone could set it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
