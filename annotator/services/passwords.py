"""The password policy: long enough, not a common password, not the user's own name.

It is checked where a person chooses a password (the command line, and the
browser's password pages), never on the way into the database: the demo's
own ``demo``/``demo`` login, made by ``annotator demo`` for a database of its
own, is exempt, and says so when it starts.
"""

from __future__ import annotations

import functools
import secrets
from importlib import resources

MIN_LENGTH = 10
POLICY = (
    f"at least {MIN_LENGTH} characters, not one of the common passwords that ship with annotator, "
    "and not the username"
)


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, lower-cased."""
    text = resources.files("annotator").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, *, username: str = "") -> None:
    """Raise WeakPassword unless ``password`` follows the policy."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"the password must be at least {MIN_LENGTH} characters long (it has {len(password)})"
        )
    lowered = password.lower()
    if lowered in common_passwords():
        raise WeakPassword("that password is on the list of common passwords; choose another")
    name = username.strip().lower()
    if name and name in lowered:
        raise WeakPassword("the password must not contain the username")


def generate_password(*, username: str = "") -> str:
    """Return a random password that follows the policy (16 URL-safe characters), for an admin to hand on."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password(password, username=username)
        except WeakPassword:  # a random name inside it: vanishingly rare, so just draw again
            continue
        return password
