"""Project settings: how many annotators an article gets, claims, and what annotators may see.

Kept in the ``project_setting`` table, so that every web worker, the command
line and the admin's settings page read the same values; a setting never set
has its default. ``annotator config show`` and ``annotator config set KEY
VALUE`` read and change them, the settings page (web/admin/settings.py) too,
through ``set_setting``, which records each change in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotator.errors import AnnotatorError
from annotator.models import ProjectSetting, User, utcnow
from annotator.services import audit
from annotator.services.json_rows import json_rows

_SETTINGS = ProjectSetting.__table__

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
    # The largest upload the import page (and POST /api/v1/articles) accepts, in MiB.
    upload_limit_mb: int = 200

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


YES_NO = ("yes", "no")


@dataclass(frozen=True)
class _Definition:
    parse: Callable[[str], Any]
    # One line, for `annotator config show`.
    help: str
    # How the value is stored as JSON, and read back.
    dump: Callable[[Any], Any] = lambda value: value
    load: Callable[[Any], Any] = lambda value: value
    # A sentence or two for the settings page: what the setting changes, and for whom.
    explain: str = ""
    # The only values the setting takes, offered as a list by the settings page; None: typed in.
    choices: tuple[str, ...] | None = None


def _strategy(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("unanimous", "majority"):
        raise ValueError("unanimous or majority")
    return value


DEFINITIONS: dict[str, _Definition] = {
    "annotators_per_article": _Definition(
        _whole(1, 20),
        "how many annotators each article gets (N); with 1 the team splits the corpus",
        explain=(
            "How many annotators annotate each article independently (N, from 1 to 20). With 1 the "
            "team splits the corpus; with 2 or more reviewers can measure agreement and adjudicate. "
            "Next stops offering an article once N annotators hold it; a change applies at once, "
            "also to articles already started."
        ),
    ),
    "overlap_coverage": _Definition(
        _percent,
        "the share of articles that get N annotators, the rest getting one (percent)",
        explain=(
            "The percentage of articles that get N annotators; every other article gets one. "
            "25% with N = 2 double-annotates a quarter of the corpus, enough to measure agreement "
            "at a fraction of the cost. Has no effect while N is 1."
        ),
    ),
    "preannotate_overlap": _Definition(
        _yes_no,
        "whether articles with N > 1 start from the model's spans (no: agreement is not inflated by shared proposals)",
        explain=(
            "Whether an annotator's copy of an article that gets more than one annotator starts from "
            "the model's spans. No: each annotator starts from a blank text, so agreement is not "
            "inflated by proposals they all accepted. Applies to copies opened from now on."
        ),
        choices=YES_NO,
    ),
    "claim_timeout": _Definition(
        _duration,
        "how long a claimed article may sit untouched before it returns to the pool",
        dump=lambda value: value.total_seconds(),
        load=lambda value: timedelta(seconds=value),
        explain=(
            "How long an annotator's claim on an unfinished article lasts without an edit (such as "
            "24h, 90m or 2d) before Next offers the article to someone else. Articles an admin "
            "assigned never lapse."
        ),
    ),
    "annotators_see_gold": _Definition(
        _yes_no,
        "whether annotators may compare their work with gold (Accuracy page, feedback view)",
        explain=(
            "Whether annotators may compare their own work with the gold: gold on the Accuracy page "
            "and the feedback view of an adjudicated article. Reviewers and admins always may."
        ),
        choices=YES_NO,
    ),
    "merge_strategy": _Definition(
        _strategy,
        "which spans adjudication starts from: unanimous (in every version, exactly) or majority "
        "(in more than half of them); the rest are candidates for the reviewer",
        explain=(
            "Which spans a reviewer's adjudication draft starts from: unanimous (spans in every "
            "annotator's version, exactly) or majority (in more than half of them). The other spans "
            "become candidates the reviewer accepts or rejects. Applies to adjudications opened from now on."
        ),
        choices=("unanimous", "majority"),
    ),
    "upload_limit_mb": _Definition(
        _whole(1, 100_000),
        "the largest upload the import page and POST /api/v1/articles accept, in MiB (every other "
        "request keeps ANNOTATOR_MAX_REQUEST_MB); bigger files go through `annotator import`",
        explain=(
            "The largest upload, in MiB, that the Import page and POST /api/v1/articles accept; every "
            "other request keeps the ANNOTATOR_MAX_REQUEST_MB limit. The import runs inside the request: "
            "gunicorn's --timeout and the proxy's body size limit must allow an upload this large. "
            "Bigger files import faster with `annotator import` on the server."
        ),
    ),
}


def load_settings(session: Session) -> ProjectSettings:
    """Return the project's settings, each one stored or its default (one query)."""
    return settings_from_rows(session.execute(select(_SETTINGS.c.key, _SETTINGS.c.value)))


def stored_settings():
    """Return a scalar subquery of every stored setting as [[key, value], ...], for another query to carry.

    ``settings_from_rows`` turns its value into the settings: the request's first
    query brings them along instead of a query of their own.
    """
    return select(json_rows(_SETTINGS.c.key, _SETTINGS.c.value)).scalar_subquery()


def settings_from_rows(rows: Iterable[Sequence[Any]]) -> ProjectSettings:
    """Return the settings the stored (key, value) rows give, each missing one at its default."""
    stored = {key: value for key, value in rows}
    values = {name: DEFINITIONS[name].load(stored[name]) for name in DEFINITIONS if name in stored}
    return ProjectSettings(**values)


def parse_setting(key: str, raw: str) -> Any:
    """Return the value ``raw`` gives the setting ``key``, or raise BadSetting saying what it takes."""
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise BadSetting(f"no setting {key!r}; the settings are: {', '.join(DEFINITIONS)}")
    try:
        return definition.parse(raw)
    except ValueError as error:
        raise BadSetting(f"{key} must be {error}, not {raw!r}") from error


def set_setting(session: Session, key: str, raw: str, *, actor: User | None = None) -> Any:
    """Parse ``raw`` for the setting ``key``, store it, audit it and commit; return the value it now has.

    ``actor`` is the admin who changed it; None is the command line.
    """
    value = parse_setting(key, raw)
    definition = DEFINITIONS[key]
    row = session.get(ProjectSetting, key)
    if row is None:
        old = getattr(ProjectSettings(), key)
        row = ProjectSetting(key=key, value=definition.dump(value))
    else:
        old = definition.load(row.value)
        row.value = definition.dump(value)
    row.updated_at, row.updated_by_id = utcnow(), actor.id if actor is not None else None
    session.add(row)
    audit.record(session, actor, "setting.set", f"setting:{key}", old=shown(key, old), new=shown(key, value))
    try:
        session.commit()
    except IntegrityError:  # set at the same moment elsewhere: the later write wins
        session.rollback()
        return set_setting(session, key, raw, actor=actor)
    return value


def shown(key: str, value: Any) -> str:
    """Return a setting's value as people read and type it (the parser takes it back)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, timedelta):
        hours = value.total_seconds() / 3600
        return f"{hours:g}h"
    if key == "overlap_coverage":
        return f"{value:g}%"
    return str(value)


def describe(settings: ProjectSettings) -> list[tuple[str, str, str]]:
    """Return (name, value as shown, what it does) for every setting."""
    return [
        (item.name, shown(item.name, getattr(settings, item.name)), DEFINITIONS[item.name].help)
        for item in fields(settings)
    ]


@dataclass(frozen=True)
class SettingEntry:
    """One setting as the settings page shows it."""

    name: str
    value: str  # as shown, and as the form sends it back
    default: str
    help: str  # what it changes and for whom
    choices: tuple[str, ...] | None
    changed_at: datetime | None  # None: never set, so it has its default
    changed_by: str | None  # None: the command line (or a user since deleted)

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def is_default(self) -> bool:
        return self.value == self.default


def setting_entries(session: Session) -> list[SettingEntry]:
    """Return every setting with its value, default, help and last change (one query)."""
    rows = {
        row.key: (row, username)
        for row, username in session.exec(
            select(ProjectSetting, User.username).outerjoin(User, User.id == ProjectSetting.updated_by_id)
        )
    }
    defaults = ProjectSettings()
    entries = []
    for name, definition in DEFINITIONS.items():
        row, username = rows.get(name, (None, None))
        value = definition.load(row.value) if row is not None else getattr(defaults, name)
        entries.append(
            SettingEntry(
                name=name,
                value=shown(name, value),
                default=shown(name, getattr(defaults, name)),
                help=definition.explain or definition.help,
                choices=definition.choices,
                changed_at=row.updated_at if row is not None else None,
                changed_by=username,
            )
        )
    return entries
