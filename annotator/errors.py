"""Domain errors: each carries a message a person can act on."""

from __future__ import annotations


class AnnotatorError(Exception):
    """Base of every error annotator raises on purpose."""


class BadImport(AnnotatorError):
    """An import file is unreadable or holds an invalid record; nothing was written."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class NotFound(AnnotatorError):
    """A named article, user or span does not exist."""


class UserExists(AnnotatorError):
    """A user with that name already exists."""


class SpanOverlap(AnnotatorError):
    """A new or changed span would overlap another span of the same version."""


class InvalidSpan(AnnotatorError):
    """A span's offsets, label or attributes are not valid."""


class StaleVersion(AnnotatorError):
    """An edit was made on an older version of the annotator's work."""


class Forbidden(AnnotatorError):
    """The user may not see or change this (another annotator's work, say)."""


class InvalidEdit(AnnotatorError):
    """An edit that cannot be applied as asked (an unknown status, a flag without a comment)."""


class IncompleteSpans(InvalidEdit):
    """An article cannot be accepted while spans lack attributes; ``span_id`` names the first."""

    def __init__(self, message: str, *, span_id: int) -> None:
        super().__init__(message)
        self.span_id = span_id


class NothingToUndo(InvalidEdit):
    """Undo was asked for, but the working copy has no edit left to undo."""


class LoginFailed(AnnotatorError):
    """A login with a wrong name or password, or for a deactivated account."""


class LoginThrottled(AnnotatorError):
    """Too many failed logins for this account or from this address; try again later."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            "Too many failed logins for this account or from this address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


class ModelNotFound(AnnotatorError):
    """A spaCy model named by a setting or an option cannot be loaded."""
