"""Article tallies in the database: the stored cues they read, and document-level gold tallies.

The rules are ``annotator.nlp.tally``'s; this module only feeds them. Cues
(sentences, days, places, incident markers) are read from an article's text
once and kept in ``article_cues``: pre-annotation stores the parse's, and an
article never pre-annotated gets rule-made cues when it is first shown or
tallied. Reading them at import instead would add about 0.8 ms of regular
expressions per article of 6,000 characters to every import: some 13 minutes
on a million articles, most of which may never be opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from annotator.models import ArticleCues, GoldTally, utcnow

if TYPE_CHECKING:
    from annotator.nlp.cues import Cues
    from annotator.nlp.tally import ArticleTally

# annotator.nlp's package imports spaCy, which the web app needs only once
# text is snapped to tokens: its modules are imported where they are used.

_CUES = ArticleCues.__table__
_GOLD_TALLIES = GoldTally.__table__


def _upsert(session: Session, table, rows: list[dict[str, Any]], *, update: Iterable[str]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["article_id"], set_={column: statement.excluded[column] for column in update}
    )
    session.execute(statement, rows)


def store_cues(session: Session, cues_by_article: Mapping[int, Cues | Mapping[str, Any]]) -> None:
    """Store (or replace) the cues of articles, in the caller's transaction."""
    rows = [
        {"article_id": article_id, "cues": dict(cues) if isinstance(cues, Mapping) else cues.to_json()}
        for article_id, cues in cues_by_article.items()
    ]
    _upsert(session, _CUES, rows, update=["cues"])


def stored_cues(session: Session, article_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the stored cues of these articles (those that have some), in one query per 1,000."""
    ids = list(article_ids)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(_CUES.c.article_id, _CUES.c.cues).where(_CUES.c.article_id.in_(ids[start : start + 1000]))
        )
        found.update((article_id, cues) for article_id, cues in rows)
    return found


def cues_of(text: str, stored: Mapping[str, Any] | None) -> Cues:
    """Return an article's cues: the stored ones when current, else read from ``text`` by rule."""
    from annotator.nlp.cues import Cues, find_cues, is_current

    return Cues.from_json(stored) if is_current(stored) else find_cues(text)


def ensure_cues(session: Session, article_id: int, text: str, stored: Mapping[str, Any] | None) -> Cues:
    """Return an article's cues, storing rule-made ones when it has none yet (the caller commits)."""
    from annotator.nlp.cues import Cues, find_cues, is_current

    if is_current(stored):
        return Cues.from_json(stored)
    cues = find_cues(text)
    store_cues(session, {article_id: cues})
    return cues


def tally_of(spans: Iterable[Mapping[str, Any]], text: str, stored: Mapping[str, Any] | None) -> ArticleTally:
    """Return the tally of one version's spans (dicts or objects with ``start``/``end``/``label``/``attrs``)."""
    from annotator.nlp.tally import tally

    return tally([_as_dict(span) for span in spans], text=text, cues=cues_of(text, stored))


def _as_dict(span: Any) -> Mapping[str, Any]:
    if isinstance(span, Mapping):
        return span
    return {"id": span.id, "start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs}


def set_gold_tallies(
    session: Session, tallies: Mapping[int, Mapping[str, Any]], *, source: str | None
) -> None:
    """Store document-level gold tallies (already checked with ``tally_errors``), replacing earlier ones."""
    now = utcnow()
    rows = [
        {"article_id": article_id, "tally": dict(value), "source": source, "created_at": now}
        for article_id, value in tallies.items()
    ]
    _upsert(session, _GOLD_TALLIES, rows, update=["tally", "source", "created_at"])


def gold_tallies(session: Session, article_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the document-level gold tallies of these articles, completed to the full shape."""
    from annotator.nlp.tally import completed

    ids = list(article_ids)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(_GOLD_TALLIES.c.article_id, _GOLD_TALLIES.c.tally).where(
                _GOLD_TALLIES.c.article_id.in_(ids[start : start + 1000])
            )
        )
        found.update((article_id, completed(value)) for article_id, value in rows)
    return found


def cues_are_current(stored: Mapping[str, Any] | None) -> bool:
    """Whether stored cues were made by this version of the cue rules."""
    from annotator.nlp.cues import is_current

    return is_current(stored)
