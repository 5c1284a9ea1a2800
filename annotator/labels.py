"""The label set of GUIDELINES.md and the checks every stored span must pass.

Plain Python with no Flask or database import, so the importer, the review
edits and the nlp package share one definition of a valid span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACTOR = "ACTOR"
LOCATION = "LOCATION"
CASUALTY = "CASUALTY"
LABELS: tuple[str, ...] = (ACTOR, LOCATION, CASUALTY)

QUALIFIERS = ("exact", "at_least", "about", "vague")
OUTCOMES = ("killed", "wounded", "killed_or_wounded")
GROUPS = ("civilian", "security", "militant", "mixed_or_unknown")

# The largest casualty count the guidelines allow: larger figures are typing slips, and they
# must stay within what every export format (a DocBin's msgpack included) can store.
MAX_COUNT = 1_000_000

# Attribute name -> allowed values (None: a count from 0 to MAX_COUNT, or null).
CASUALTY_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "count": None,
    "qualifier": QUALIFIERS,
    "outcome": OUTCOMES,
    "group": GROUPS,
}


def attribute_errors(label: str, attrs: Any) -> list[str]:
    """Return what is wrong with a span's attributes, or an empty list."""
    if attrs is None:
        return []
    if not isinstance(attrs, Mapping):
        return [f"attrs must be an object, not {type(attrs).__name__}"]
    if label != CASUALTY:
        return [f"{label} spans take no attrs"] if attrs else []
    errors = []
    for name, value in attrs.items():
        if name not in CASUALTY_ATTRIBUTES:
            errors.append(f"unknown attribute {name!r} (expected one of {', '.join(CASUALTY_ATTRIBUTES)})")
            continue
        allowed = CASUALTY_ATTRIBUTES[name]
        if allowed is None:
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT
            ):
                shown = (
                    value if not isinstance(value, int) or len(str(value)) <= 20 else f"{str(value)[:20]}…"
                )
                errors.append(f"count must be a whole number from 0 to {MAX_COUNT:,} or null, not {shown!r}")
        elif value not in allowed:
            errors.append(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return errors


def missing_attributes(label: str, attrs: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Return the attributes a span still needs before its article can be accepted (none for ACTOR, LOCATION).

    A CASUALTY needs its qualifier, outcome and group, and a count unless the
    qualifier is ``vague`` ("dozens"), whose count is null.
    """
    if label != CASUALTY:
        return ()
    attrs = attrs or {}
    missing = [name for name in ("count", "qualifier", "outcome", "group") if attrs.get(name) is None]
    if attrs.get("qualifier") == "vague" and "count" in missing:
        missing.remove("count")
    return tuple(missing)


def span_errors(text: str, span: Any) -> list[str]:
    """Return what is wrong with one span of ``text``, or an empty list."""
    if not isinstance(span, Mapping):
        return [f"a span must be an object, not {type(span).__name__}"]
    errors = []
    start, end, label = span.get("start"), span.get("end"), span.get("label")
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{name} must be an integer, not {value!r}")
    if errors:
        return errors
    if start < 0 or end > len(text):
        errors.append(f"span [{start}, {end}) lies outside the text (length {len(text)})")
    elif start >= end:
        errors.append(f"span start {start} must be before its end {end}")
    if label not in LABELS:
        errors.append(f"unknown label {label!r} (expected one of {', '.join(LABELS)})")
    else:
        errors.extend(attribute_errors(label, span.get("attrs")))
    return errors


def overlap_errors(spans: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return one message per pair of overlapping spans (spans need not be sorted)."""
    ordered = sorted(spans, key=lambda s: (s["start"], s["end"]))
    errors = []
    widest = None  # the span reaching furthest right so far
    for span in ordered:
        if widest is not None and span["start"] < widest["end"]:
            errors.append(
                f"span [{span['start']}, {span['end']}) {span['label']} overlaps "
                f"[{widest['start']}, {widest['end']}) {widest['label']}"
            )
        if widest is None or span["end"] > widest["end"]:
            widest = span
    return errors


def spans_errors(text: str, spans: Any, *, allow_overlaps: bool = False) -> list[str]:
    """Return everything wrong with a document's span list, or an empty list.

    ``allow_overlaps`` accepts spans that overlap or nest, as an extractor's
    output may (evaluation scores them); stored spans never do.
    """
    if not isinstance(spans, list):
        return [f"spans must be a list, not {type(spans).__name__}"]
    errors = []
    for index, span in enumerate(spans):
        errors.extend(f"span {index}: {message}" for message in span_errors(text, span))
    if not errors and not allow_overlaps:
        errors.extend(overlap_errors(spans))
    return errors
