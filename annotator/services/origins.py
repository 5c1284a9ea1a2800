"""Name whose spans a command reads or writes: ``gold``, ``model``, ``annotator:NAME`` or ``annotators``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from annotator.errors import NotFound
from annotator.models import Origin, User

# Every annotator's accepted versions, each under its annotator's name (an export of agreement data).
ALL_ANNOTATORS = "annotators"


@dataclass(frozen=True)
class SpanOwner:
    """An origin, and for an annotator's working copy, the user's id."""

    origin: str
    owner_id: int | None = None


def parse_origin(session: Session, value: str, *, every_annotator: bool = False) -> SpanOwner:
    """Turn ``gold``, ``model``, ``annotator:NAME`` (or with ``every_annotator``, ``annotators``) into a SpanOwner.

    Raises ValueError for a malformed value and NotFound for an unknown user.
    """
    kind, colon, name = value.partition(":")
    if kind in (Origin.GOLD, Origin.MODEL) and not colon:
        return SpanOwner(kind)
    if every_annotator and value == ALL_ANNOTATORS:
        return SpanOwner(ALL_ANNOTATORS)
    if kind == Origin.ANNOTATOR and name.strip():
        name = name.strip()
        user_id = session.exec(select(User.id).where(User.username == name)).first()
        if user_id is None:
            raise NotFound(f"no user named {name!r}; add one with `annotator user add {name}` first")
        return SpanOwner(Origin.ANNOTATOR.value, user_id)
    choices = (
        "gold, model, annotator:NAME or annotators" if every_annotator else "gold, model or annotator:NAME"
    )
    raise ValueError(f"origin must be {choices}, not {value!r}")
