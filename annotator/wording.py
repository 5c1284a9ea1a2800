"""Small helpers for messages in English."""

from __future__ import annotations


def indefinite(noun: str) -> str:
    """Return ``noun`` after "a" or "an", by its first letter ("an ACTOR", "a LOCATION", "an annotator:ann")."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
