"""Settings read from the environment (``ANNOTATOR_`` + name), with their defaults.

Each setting has a parser, so that a bad value stops the app at start-up with
a message naming the variable, instead of failing on the first request.
``settings_help()`` renders the table the README and ``annotator --help`` show.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "ANNOTATOR_"
# Past this, a statement on a locked SQLite file gives up and the user is told to retry.
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


class ConfigError(ValueError):
    """An ANNOTATOR_* environment variable holds a value that cannot be used."""


def _positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not number > 0:
        raise ValueError("must be greater than 0")
    return number


def _whole_number(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return parse


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be 1/true/yes/on or 0/false/no/off")


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL", str, None, "SQLAlchemy URL of the database (default: SQLite in the instance folder)"
    ),
    Setting("SECRET_KEY", str, None, "signs session cookies (default: generated once, kept in instance/)"),
    Setting(
        "MODEL", str, None, "spaCy model for pre-annotation (default: en_core_web_sm, else its re-upload)"
    ),
    Setting("SESSION_LIFETIME_HOURS", _positive_number, 12.0, "hours a login lasts before logging in again"),
    Setting("SECURE_COOKIES", _flag, False, "send cookies over HTTPS only (set it when served over HTTPS)"),
    Setting(
        "TRUSTED_PROXIES",
        _whole_number(0),
        0,
        "reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust",
    ),
    Setting("LOGIN_MAX_FAILURES", _whole_number(1), 10, "failed logins per account before it is throttled"),
    Setting(
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        _whole_number(1),
        30,
        "failed logins per client address before it is throttled",
    ),
    Setting("LOGIN_WINDOW_MINUTES", _positive_number, 15.0, "minutes over which failed logins are counted"),
    Setting("MAX_REQUEST_MB", _positive_number, 32.0, "largest request body accepted, in MiB (413 above)"),
    Setting(
        "SQLITE_BUSY_TIMEOUT_MS",
        _whole_number(0),
        DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
        "milliseconds an SQLite statement waits for another writer's lock before the user is told to retry",
    ),
)


def defaults() -> dict[str, Any]:
    """Return every setting's default (None where the app works one out)."""
    return {setting.name: setting.default for setting in SETTINGS}


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
    """Return the ANNOTATOR_* settings present in ``environ``, parsed, without the prefix.

    Raises ConfigError naming the variable when a value cannot be parsed.
    """
    found = {}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if not raw:
            continue
        try:
            found[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{ENV_PREFIX}{setting.name}={raw!r}: {error}") from error
    return found


def settings_help() -> str:
    """Return one line per setting: the variable, its default and what it does."""
    lines = []
    for setting in SETTINGS:
        default = "" if setting.default is None else f" [default: {_format(setting.default)}]"
        lines.append(f"{ENV_PREFIX}{setting.name}: {setting.help}{default}")
    return "\n".join(lines)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
