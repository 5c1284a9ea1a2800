"""Name whose spans a command reads or writes: ``gold``, ``model``, ``model:SOURCE``, ``annotator:NAME`` or ``annotators``.

Model spans carry what made them in ``Span.source``: the pre-annotator's are
``component@pipeline version`` (spans imported with ``--origin model`` have
none); predictions pushed through the API under a source name are
``api:NAME``. ``model`` means all of them; ``model:NAME`` one pushed source;
``model:preannotator`` the pre-annotator's own (and imported) model spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, select

from annotator.errors import NotFound
from annotator.models import Origin, Prediction, User

# Every annotator's accepted versions, each under its annotator's name (an export of agreement data).
ALL_ANNOTATORS = "annotators"
# ``Span.source`` of a prediction pushed through the API: this prefix and the source's name.
API_SOURCE_PREFIX = "api:"
# ``model:preannotator``: the model spans that no source pushed (the pre-annotator's, imported ones).
PREANNOTATOR = "preannotator"
# A source name: what a URL, a file name and the origin syntax carry without quoting.
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,99}")


@dataclass(frozen=True)
class SpanOwner:
    """An origin, and for an annotator's working copy, the user's id; for model spans, optionally one source."""

    origin: str
    owner_id: int | None = None
    # Model only: a pushed source's name, or PREANNOTATOR; None is every model span.
    source: str | None = None

    @property
    def name(self) -> str:
        """The origin as written (``model:NAME``), for messages; an annotator's is given by the caller."""
        return f"{self.origin}:{self.source}" if self.source else self.origin


def source_name_errors(name: str) -> list[str]:
    """Return what is wrong with ``name`` as the name of a pushed model source, or an empty list."""
    if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
        return [
            f"source must be 1 to 100 letters, digits or . _ + @ - (starting with a letter or digit), not {name!r}"
        ]
    if name == PREANNOTATOR:
        return [f"source {PREANNOTATOR!r} is reserved: model:{PREANNOTATOR} names the pre-annotator's spans"]
    return []


def api_source(name: str) -> str:
    """Return the ``Span.source`` of the spans pushed under ``name``."""
    return f"{API_SOURCE_PREFIX}{name}"


def preannotator_spans(source_column) -> ColumnElement[bool]:
    """Return the condition that a model span is not a pushed prediction (the pre-annotator's, or imported)."""
    return or_(source_column.is_(None), source_column.not_like(f"{API_SOURCE_PREFIX}%"))


def model_source_condition(owner: SpanOwner, source_column) -> ColumnElement[bool] | None:
    """Return the condition on ``Span.source`` that selects ``owner``'s model spans (None: all of them)."""
    if owner.origin != Origin.MODEL or owner.source is None:
        return None
    if owner.source == PREANNOTATOR:
        return preannotator_spans(source_column)
    return source_column == api_source(owner.source)


def model_sources(session: Session) -> list[str]:
    """Return the names of the sources that pushed predictions, sorted."""
    return list(session.exec(select(Prediction.source).distinct().order_by(Prediction.source)))


def parse_origin(
    session: Session, value: str, *, every_annotator: bool = False, model_sources: bool = False
) -> SpanOwner:
    """Turn ``gold``, ``model``, ``annotator:NAME`` (or with ``every_annotator``, ``annotators``; with
    ``model_sources``, ``model:NAME``) into a SpanOwner.

    Raises ValueError for a malformed value and NotFound for an unknown user or
    a source that pushed nothing.
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
    if model_sources and kind == Origin.MODEL and name.strip():
        return _model_source(session, name.strip())
    choices = ["gold", "model"] + (["model:SOURCE"] if model_sources else []) + ["annotator:NAME"]
    choices += [ALL_ANNOTATORS] if every_annotator else []
    raise ValueError(f"origin must be {', '.join(choices[:-1])} or {choices[-1]}, not {value!r}")


def _model_source(session: Session, name: str) -> SpanOwner:
    if name != PREANNOTATOR:
        found = session.exec(select(Prediction.source).where(Prediction.source == name).limit(1)).first()
        if found is None:
            known = model_sources(session)
            raise NotFound(
                f"no predictions from source {name!r}; "
                + (
                    f"sources: {', '.join(known)}, {PREANNOTATOR}"
                    if known
                    else f"the only source is {PREANNOTATOR}"
                )
            )
    return SpanOwner(Origin.MODEL.value, source=name)
