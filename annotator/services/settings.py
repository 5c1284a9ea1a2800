"""Project settings: how many annotators an article gets, claims, and what annotators may see.

Kept in the ``project_setting`` table, so that every web worker, the command
line and (later) the admin pages read the same values; a setting never set
has its default. ``annotator config show`` and ``annotator config set KEY
VALUE`` read and change them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotator.errors import AnnotatorError
from annotator.models import ProjectSetting, utcnow

# Articles per hundred, out of every 10,000 consecutive article ids, that get N annotators.
SPREAD = 7919  # a prime: (id * 7919) % 10000 visits every residue, so coverage is exact per 10,000 ids


class BadSetting(AnnotatorError):
    """An unknown setting, or a value it cannot take."""


@dataclass(frozen=True)
class ProjectSettings:
    annotators_per_article: int = 1
    overlap_coverage: float = 100.0  # percent of the articles that get annotators_per_article
    preannotate_overlap: bool = True
    claim_timeout: timedelta = timedelta(hours=24)
    annotators_see_gold: bool = False
    # How the curation view pre-fills a draft gold: "unanimous" or "majority" (services/curation_merge).
    merge_strategy: str = "unanimous"

    def required(self, article_id: int) -> int:
        """Return how many annotators the article gets: N for the overlap share, else one."""
        n = self.annotators_per_article
        if n == 1 or in_overlap(article_id, self.overlap_coverage):
            return n
        return 1

    def starts_from_model(self, article_id: int) -> bool:
        """Return whether a new working copy of the article starts from the model's spans."""
        return self.preannotate_overlap or self.required(article_id) == 1


def in_overlap(article_id: int, coverage: float) -> bool:
    """Return whether an article is one of the ``coverage`` percent that get N annotators."""
    return (article_id * SPREAD) % 10_000 < round(coverage * 100)


def _whole(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"\s*\d+\s*", raw):
            raise ValueError(f"a whole number from {minimum} to {maximum}")
        value = int(raw)
        if not minimum <= value <= maximum:
            raise ValueError(f"a whole number from {minimum} to {maximum}")
        return value

    return parse


def _percent(raw: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", raw)
    if match is None or not 0 <= float(match[1]) <= 100:
        raise ValueError("a percentage from 0 to 100, such as 100 or 25%")
    return float(match[1])


def _yes_no(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("yes", "true", "on", "1"):
        return True
    if value in ("no", "false", "off", "0"):
        return False
    raise ValueError("yes or no")


_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def _duration(raw: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)?\s*", raw.lower())
    if match is None or float(match[1]) <= 0:
        raise ValueError("a duration such as 24h, 90m or 2d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "h"])


@dataclass(frozen=True)
class _Definition:
    parse: Callable[[str], Any]
    help: str
    # How the value is stored as JSON, and read back.
    dump: Callable[[Any], Any] = lambda value: value
    load: Callable[[Any], Any] = lambda value: value


def _strategy(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("unanimous", "majority"):
        raise ValueError("unanimous or majority")
    return value


DEFINITIONS: dict[str, _Definition] = {
    "annotators_per_article": _Definition(
        _whole(1, 20), "how many annotators each article gets (N); with 1 the team splits the corpus"
    ),
    "overlap_coverage": _Definition(
        _percent, "the share of articles that get N annotators, the rest getting one (percent)"
    ),
    "preannotate_overlap": _Definition(
        _yes_no,
        "whether articles with N > 1 start from the model's spans (no: agreement is not inflated by shared proposals)",
    ),
    "claim_timeout": _Definition(
        _duration,
        "how long a claimed article may sit untouched before it returns to the pool",
        dump=lambda value: value.total_seconds(),
        load=lambda value: timedelta(seconds=value),
    ),
    "annotators_see_gold": _Definition(
        _yes_no, "whether annotators may compare their work with gold (Accuracy page, feedback view)"
    ),
    "merge_strategy": _Definition(
        _strategy,
        "which spans adjudication starts from: unanimous (in every version, exactly) or majority "
        "(in more than half of them); the rest are candidates for the reviewer",
    ),
}


def load_settings(session: Session) -> ProjectSettings:
    """Return the project's settings, each one stored or its default (one query)."""
    stored = {row.key: row.value for row in session.exec(select(ProjectSetting))}
    values = {name: DEFINITIONS[name].load(stored[name]) for name in DEFINITIONS if name in stored}
    return ProjectSettings(**values)


def set_setting(session: Session, key: str, raw: str, *, user_id: int | None = None) -> Any:
    """Parse ``raw`` for the setting ``key``, store it and commit; return the value it now has."""
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise BadSetting(f"no setting {key!r}; the settings are: {', '.join(DEFINITIONS)}")
    try:
        value = definition.parse(raw)
    except ValueError as error:
        raise BadSetting(f"{key} must be {error}, not {raw!r}") from error
    row = session.get(ProjectSetting, key)
    if row is None:
        row = ProjectSetting(key=key, value=definition.dump(value))
    else:
        row.value = definition.dump(value)
    row.updated_at, row.updated_by_id = utcnow(), user_id
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # set at the same moment elsewhere: the later write wins
        session.rollback()
        return set_setting(session, key, raw, user_id=user_id)
    return value


def describe(settings: ProjectSettings) -> list[tuple[str, str, str]]:
    """Return (name, value as shown, what it does) for every setting."""
    shown = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, timedelta):
            hours = value.total_seconds() / 3600
            text = f"{hours:g}h"
        elif item.name == "overlap_coverage":
            text = f"{value:g}%"
        else:
            text = str(value)
        shown.append((item.name, text, DEFINITIONS[item.name].help))
    return shown
