"""Reading numbers and article ids from URLs and forms, within what the database can hold."""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, request
from werkzeug.routing import IntegerConverter, PathConverter

# The database's integers are 64-bit signed; larger values overflow inside the driver.
MAX_DB_INT = 2**63 - 1
MIN_DB_INT = -(2**63)


def bounded_int(raw: str) -> int:
    """Parse a whole number for ``MultiDict.get(..., type=bounded_int)``.

    A value that is no number raises ValueError (so ``get`` returns its
    default, as with ``type=int``); a number the database cannot hold answers
    400 at once.
    """
    value = int(raw)
    if not MIN_DB_INT <= value <= MAX_DB_INT:
        abort(400, description=f"{raw[:40]}{'…' if len(raw) > 40 else ''} is too large a number.")
    return value


def fitting_int(raw: str) -> int:
    """Parse a whole number for ``MultiDict.get(..., type=fitting_int)``: ValueError unless the database can hold it.

    For places that must not fail, such as an error handler re-reading the form.
    """
    value = int(raw)
    if not MIN_DB_INT <= value <= MAX_DB_INT:
        raise ValueError(f"{raw[:40]} does not fit in 64 bits")
    return value


# --- the controls every edit form carries (the review page's and the curation view's) ---


def form_version() -> int:
    """Return the version an edit was made on, or answer 400 when the form has none."""
    version = request.form.get("version", type=bounded_int)
    if version is None:
        abort(400, description="The edit says nothing of the version it was made on; reload the page.")
    return version


def form_number(name: str) -> int:
    """Return a whole number from the edit form, or raise InvalidSpan naming the field."""
    from annotator.errors import InvalidSpan

    value = request.form.get(name, type=bounded_int)
    if value is None:
        raise InvalidSpan(f"Not saved: {name} must be a whole number, not {request.form.get(name)!r}.")
    return value


def form_span_id() -> int:
    """Return the selected span of an edit form, or raise InvalidSpan."""
    from annotator.errors import InvalidSpan

    span_id = request.form.get("span", type=bounded_int)
    if span_id is None:
        raise InvalidSpan("Not saved: no span was selected. Click a span first.")
    return span_id


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only numbers the database can hold (404 for larger ones)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


class ExternalIdConverter(PathConverter):
    """An article's external id as one URL path segment, whatever characters it holds.

    Every "/" is encoded, so a browser never treats a "." or ".." inside an id
    as a path step; the server decodes it again before routing. Ids that are
    exactly "." or ".." cannot be a segment at all and are refused at import.
    """

    regex = ".+"
    # Matches across "/": the router must not split the id at its slashes.
    part_isolating = False

    def to_url(self, value: str) -> str:
        return quote_external_id(value)


def quote_external_id(value: str) -> str:
    """Return an external id as the path segment ``ExternalIdConverter`` builds."""
    return quote(value, safe="!$&'()*+,:;=@")
