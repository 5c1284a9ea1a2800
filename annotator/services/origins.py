"""Name whose spans a command reads or writes: ``gold``, ``model`` or ``annotator:NAME``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from annotator.errors import NotFound
from annotator.models import Origin, User


@dataclass(frozen=True)
class SpanOwner:
    """An origin, and for an annotator's working copy, the user's id."""

    origin: str
    owner_id: int | None = None


def parse_origin(session: Session, value: str) -> SpanOwner:
    """Turn ``gold``, ``model`` or ``annotator:NAME`` into a SpanOwner.

    Raises ValueError for a malformed value and NotFound for an unknown user.
    """
    kind, colon, name = value.partition(":")
    if kind in (Origin.GOLD, Origin.MODEL) and not colon:
        return SpanOwner(kind)
    if kind == Origin.ANNOTATOR and name.strip():
        name = name.strip()
        user_id = session.exec(select(User.id).where(User.username == name)).first()
        if user_id is None:
            raise NotFound(f"no user named {name!r}; add one with `annotator user add {name}` first")
        return SpanOwner(Origin.ANNOTATOR.value, user_id)
    raise ValueError(f"origin must be gold, model or annotator:NAME, not {value!r}")
