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
    app.config.from_mapping(
        DATABASE_URL=config.default_database_url(app.instance_path),
        MODEL=None,
        SQLITE_BUSY_TIMEOUT_MS=config.DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        DEMO=False,
    )
    if test_config is None:
        app.config.update(config.settings_from_env(os.environ))
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_or_create_secret_key(app.instance_path)

    db.init_app(app)
    web.init_app(app)
    return app
