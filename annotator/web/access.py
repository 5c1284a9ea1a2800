"""Role checks on the server: every view that is not for everyone says who may use it."""

from __future__ import annotations

import functools

from flask import abort, g

from annotator.models import Role

REVIEWER_ROLES = frozenset({Role.REVIEWER.value, Role.ADMIN.value})


def is_admin() -> bool:
    return g.user is not None and g.user.role == Role.ADMIN.value


def admins_only() -> None:
    """A blueprint's before_request: refuse everyone but admins (the login guard ran first)."""
    if not is_admin():
        abort(403, description="Only admins may use this page.")


def roles_required(*roles: str):
    """Refuse the view to users whose current role is not one of ``roles``."""
    allowed = frozenset(roles)

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if g.user is None or g.user.role not in allowed:
                abort(403, description="Your role may not use this page.")
            return view(*args, **kwargs)

        return guarded

    return decorate
