"""Which version of an article is gold, and reading the documents of any origin.

An article's gold is its stored gold, the newest of its gold revisions
(imported with ``--origin gold``, or a version a reviewer marked as gold or
adjudicated; see ``gold_revisions``), even when that gold marks nothing.
Without stored gold, an article that needs one annotator has the version of
the one annotator who accepted it as gold. An article with two or more
accepted versions has no gold until a reviewer adjudicates it or marks one
version: it is left out and listed as waiting for adjudication, so gold never
changes silently because a second annotator finished. An article that needs
more annotators than have accepted it is listed as waiting for annotators.
Gold is decided per chunk of articles in a fixed number of queries, never one
per article or per span.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import Session, select

from annotator.models import AnnotationState, Article, Origin, Prediction, Span, Status, User
from annotator.services.gold_revisions import articles_with_revisions, has_revision_condition
from annotator.services.origins import ALL_ANNOTATORS, PREANNOTATOR, SpanOwner, model_source_condition
from annotator.services.settings import ProjectSettings, load_settings
from annotator.services.visibility import count_visible, visible_articles

CHUNK_SIZE = 500
# Why an article has no gold yet (markers in place of its spans).
WAITING_FOR_ADJUDICATION = object()
WAITING_FOR_ANNOTATORS = object()
_SPAN_COLUMNS = (Span.article_id, Span.start, Span.end, Span.label, Span.attrs, Span.provenance)


@dataclass(slots=True)
class Document:
    """One article with the spans of one origin, as gold-format dicts sorted by start.

    A gold span may also carry ``provenance`` (see ``Span.provenance``); other spans never do.
    """

    id: str
    text: str
    spans: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    # The database row's id; None for documents read from a file.
    article_id: int | None = None
    # Whose version this is, for an export of every annotator's accepted versions.
    annotator: str | None = None
    # The article's stored cues (``services.tallies``), when the reader asked for them.
    cues: dict[str, Any] | None = None

    def to_gold(self) -> dict[str, Any]:
        """Return the document in the gold JSONL format of the guidelines."""
        return {"id": self.id, "text": self.text, "spans": [_gold_span(span) for span in self.spans]}


def _gold_span(span: dict[str, Any]) -> dict[str, Any]:
    item = {"start": span["start"], "end": span["end"], "label": span["label"]}
    if span.get("attrs"):
        item["attrs"] = span["attrs"]
    if span.get("provenance") is not None:
        item["provenance"] = span["provenance"]
    return item


@dataclass
class Selection:
    """What a read of one origin found: filled in while its documents are yielded."""

    origin: str
    articles: int = 0  # every article in the database
    documents: int = 0
    spans: int = 0
    # Gold only: where each document's gold came from, and the articles left out
    # because their accepted versions await a reviewer, or more annotators.
    from_stored_gold: int = 0
    from_accepted: int = 0
    waiting_for_adjudication: list[str] = field(default_factory=list)
    waiting_for_annotators: list[str] = field(default_factory=list)

    @property
    def left_out(self) -> int:
        """Articles with no version of this origin (those waiting not included)."""
        if self.origin == ALL_ANNOTATORS:
            return 0
        waiting = len(self.waiting_for_adjudication) + len(self.waiting_for_annotators)
        return self.articles - self.documents - waiting

    def describe(self) -> str:
        """Return what was left out and, for gold, where it came from, in a line or three."""
        if self.origin == ALL_ANNOTATORS:
            return (
                f"Wrote {_plural(self.documents, 'accepted version')} of {_plural(self.articles, 'article')}."
            )
        what = "gold" if self.origin == Origin.GOLD else f"{self.origin} spans"
        lines = [f"Left out {_plural(self.left_out, 'article')} without {what}."]
        for waiting, why in (
            (
                self.waiting_for_adjudication,
                "waiting for adjudication (two or more accepted versions, no gold yet)",
            ),
            (self.waiting_for_annotators, "waiting for more annotators to accept them"),
        ):
            if waiting:
                shown = ", ".join(waiting[:5]) + (", ..." if len(waiting) > 5 else "")
                lines.append(f"Left out {_plural(len(waiting), 'article')} {why}: {shown}.")
        if self.origin == Origin.GOLD and self.documents:
            lines.append(
                f"Gold came from stored gold for {_plural(self.from_stored_gold, 'article')} "
                f"and from the one accepted version for {self.from_accepted}."
            )
        return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def iter_documents(
    session: Session,
    owner: SpanOwner,
    *,
    selection: Selection | None = None,
    chunk_size: int = CHUNK_SIZE,
    settings: ProjectSettings | None = None,
) -> Iterator[Document]:
    """Yield the documents of ``owner`` in article order, reading ``chunk_size`` articles per round.

    ``gold`` yields each article's gold (see the module docstring); ``model``
    every pre-annotated or predicted article, spans or not (``model:NAME``:
    every article that source predicted); ``annotator:NAME`` every article
    that user has a version of; ``annotators`` every accepted version of every
    annotator, each under its annotator's name. ``selection``, when given, is
    filled in as documents are yielded.
    """
    selection = selection if selection is not None else Selection(owner.origin)
    selection.articles = session.exec(select(count_visible())).one()
    if owner.origin == ALL_ANNOTATORS:
        yield from _accepted_versions(session, selection, chunk_size)
        return
    if owner.origin == Origin.GOLD:
        settings = settings or load_settings(session)
        read = functools.partial(_gold_chunk, settings=settings)
    else:
        read = _origin_chunk
    last_id = 0
    while True:
        rows = session.exec(
            select(Article.id, Article.external_id, Article.text, Article.meta)
            .where(Article.id > last_id, _has_version(owner), visible_articles())
            .order_by(Article.id)
            .limit(chunk_size)
        ).all()
        if not rows:
            return
        spans_of = read(session, owner, [row[0] for row in rows], selection)
        for article_id, external_id, text, meta in rows:
            spans = spans_of.get(article_id)
            if spans is WAITING_FOR_ADJUDICATION:
                selection.waiting_for_adjudication.append(external_id)
                continue
            if spans is WAITING_FOR_ANNOTATORS:
                selection.waiting_for_annotators.append(external_id)
                continue
            selection.documents += 1
            selection.spans += len(spans)
            yield Document(external_id, text, spans, meta or {}, article_id)
        last_id = rows[-1][0]


def document_ids(
    session: Session,
    owner: SpanOwner,
    *,
    chunk_size: int = CHUNK_SIZE,
    settings: ProjectSettings | None = None,
) -> list[int]:
    """Return the article ids ``iter_documents`` would yield, without reading texts or spans."""
    if owner.origin == Origin.GOLD:
        settings = settings or load_settings(session)
    found = []
    last_id = 0
    while True:
        ids = session.exec(
            select(Article.id)
            .where(Article.id > last_id, _has_version(owner), visible_articles())
            .order_by(Article.id)
            .limit(chunk_size)
        ).all()
        if not ids:
            return found
        if owner.origin == Origin.GOLD:
            with_gold = articles_with_revisions(session, ids)
            accepted = _accepted(session, [each for each in ids if each not in with_gold])
            found.extend(
                each
                for each in ids
                if each in with_gold or (len(accepted.get(each, ())) == 1 and settings.required(each) == 1)
            )
        else:
            found.extend(ids)
        last_id = ids[-1]


def _has_version(owner: SpanOwner):
    """Return the condition on Article that it may have a version of ``owner``."""
    if owner.origin == Origin.MODEL:
        # A pre-annotated (or predicted) article belongs in a model export even when the model found nothing.
        pushed = exists().where(Prediction.article_id == Article.id)
        if owner.source is None:
            return or_(Article.preannotated_with.is_not(None), pushed)
        if owner.source == PREANNOTATOR:
            return Article.preannotated_with.is_not(None)
        return pushed.where(Prediction.source == owner.source)
    if owner.origin == Origin.GOLD:
        return or_(
            has_revision_condition(),
            exists().where(
                AnnotationState.article_id == Article.id, AnnotationState.status == Status.ACCEPTED.value
            ),
        )
    # An annotator's version: their state row (created on first visit with the copied
    # spans), or spans imported for them without one.
    return or_(
        exists().where(AnnotationState.article_id == Article.id, AnnotationState.user_id == owner.owner_id),
        exists().where(
            Span.article_id == Article.id,
            Span.origin == Origin.ANNOTATOR.value,
            Span.owner_id == owner.owner_id,
        ),
    )


def _accepted(session: Session, article_ids: list[int]) -> dict[int, list[int]]:
    """Return article id -> the users who accepted it, for those of ``article_ids`` anyone accepted."""
    users: dict[int, list[int]] = defaultdict(list)
    if article_ids:
        for article_id, user_id in session.exec(
            select(AnnotationState.article_id, AnnotationState.user_id).where(
                AnnotationState.article_id.in_(article_ids), AnnotationState.status == Status.ACCEPTED.value
            )
        ):
            users[article_id].append(user_id)
    return users


def _span_dicts(rows, keep=None) -> dict[int, list[dict[str, Any]]]:
    spans: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for article_id, start, end, label, attrs, provenance in rows:
        if keep is None or keep(article_id):
            spans[article_id].append(_span_dict(start, end, label, attrs, provenance))
    return spans


def _span_dict(start: int, end: int, label: str, attrs: Any, provenance: Any) -> dict[str, Any]:
    span = {"start": start, "end": end, "label": label, "attrs": attrs or {}}
    if provenance is not None:
        span["provenance"] = provenance
    return span


def _origin_chunk(
    session: Session, owner: SpanOwner, article_ids: list[int], selection: Selection
) -> dict[int, list[dict[str, Any]]]:
    query = select(*_SPAN_COLUMNS).where(Span.article_id.in_(article_ids), Span.origin == owner.origin)
    if owner.owner_id is not None:
        query = query.where(Span.owner_id == owner.owner_id)
    source = model_source_condition(owner, Span.source)
    if source is not None:
        query = query.where(source)
    found = _span_dicts(session.exec(query.order_by(Span.article_id, Span.start, Span.end)))
    return {article_id: found.get(article_id, []) for article_id in article_ids}


def _gold_chunk(
    session: Session,
    owner: SpanOwner,
    article_ids: list[int],
    selection: Selection,
    *,
    settings: ProjectSettings,
) -> dict[int, Any]:
    """Return article id -> its gold spans, or why it has none yet (WAITING_FOR_...)."""
    stored = articles_with_revisions(session, article_ids)
    gold = _span_dicts(
        session.exec(
            select(*_SPAN_COLUMNS)
            .where(Span.article_id.in_(list(stored)), Span.origin == Origin.GOLD.value)
            .order_by(Span.article_id, Span.start, Span.end)
        )
    )
    gold = {article_id: gold.get(article_id, []) for article_id in stored}
    accepted = _accepted(session, [each for each in article_ids if each not in gold])
    chosen = {
        article_id: users[0]
        for article_id, users in accepted.items()
        if len(users) == 1 and settings.required(article_id) == 1
    }
    versions: dict[int, list[dict[str, Any]]] = {}
    if chosen:
        # One query for all chosen versions; a user's other articles in the chunk are filtered out here.
        rows = session.exec(
            select(*_SPAN_COLUMNS, Span.owner_id)
            .where(
                Span.article_id.in_(list(chosen)),
                Span.origin == Origin.ANNOTATOR.value,
                Span.owner_id.in_(set(chosen.values())),
            )
            .order_by(Span.article_id, Span.start, Span.end)
        )
        versions = _span_dicts(row[:-1] for row in rows if chosen[row[0]] == row[-1])
    result: dict[int, list[dict[str, Any]] | None] = {}
    for article_id in article_ids:
        if article_id in gold:
            result[article_id] = gold[article_id]
            selection.from_stored_gold += 1
        elif article_id in chosen:
            result[article_id] = versions.get(article_id, [])
            selection.from_accepted += 1
        elif len(accepted.get(article_id, ())) >= 2:
            result[article_id] = WAITING_FOR_ADJUDICATION
        else:
            result[article_id] = WAITING_FOR_ANNOTATORS
    return result


def _accepted_versions(session: Session, selection: Selection, chunk_size: int) -> Iterator[Document]:
    """Yield every accepted version, article by article and annotator by annotator name."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Article.id, Article.external_id, Article.text, Article.meta)
            .where(
                Article.id > last_id,
                exists().where(
                    AnnotationState.article_id == Article.id, AnnotationState.status == Status.ACCEPTED.value
                ),
                visible_articles(),
            )
            .order_by(Article.id)
            .limit(chunk_size)
        ).all()
        if not rows:
            return
        ids = [row[0] for row in rows]
        owners = session.exec(
            select(AnnotationState.article_id, AnnotationState.user_id, User.username)
            .join(User, User.id == AnnotationState.user_id)
            .where(AnnotationState.article_id.in_(ids), AnnotationState.status == Status.ACCEPTED.value)
            .order_by(AnnotationState.article_id, User.username)
        ).all()
        spans: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for article_id, *span, owner_id in session.exec(
            select(*_SPAN_COLUMNS, Span.owner_id)
            .where(Span.article_id.in_(ids), Span.origin == Origin.ANNOTATOR.value)
            .order_by(Span.article_id, Span.start, Span.end)
        ):
            spans[(article_id, owner_id)].append(_span_dict(*span))
        by_article = defaultdict(list)
        for article_id, user_id, username in owners:
            by_article[article_id].append((user_id, username))
        for article_id, external_id, text, meta in rows:
            for user_id, username in by_article[article_id]:
                version = spans.get((article_id, user_id), [])
                selection.documents += 1
                selection.spans += len(version)
                yield Document(external_id, text, version, meta or {}, article_id, annotator=username)
        last_id = rows[-1][0]


# Where an article's gold stands, as ``gold_of`` says it.
GOLD_STORED = "stored"
GOLD_ACCEPTED = "accepted"
GOLD_WAITING_FOR_ADJUDICATION = "waiting_for_adjudication"
GOLD_NONE = "none"


def gold_of(
    session: Session, article_id: int, *, settings: ProjectSettings | None = None
) -> tuple[list[dict[str, Any]] | None, str]:
    """Return one article's gold spans as ``iter_documents`` decides them, and where they come from.

    The second value is GOLD_STORED (a gold revision), GOLD_ACCEPTED (the one
    accepted version), GOLD_WAITING_FOR_ADJUDICATION (two or more accepted
    versions, no gold yet: the spans are None) or GOLD_NONE (no gold yet).
    """
    settings = settings or load_settings(session)
    selection = Selection(Origin.GOLD.value)
    found = _gold_chunk(session, SpanOwner(Origin.GOLD.value), [article_id], selection, settings=settings)
    spans = found[article_id]
    if spans is WAITING_FOR_ADJUDICATION:
        return None, GOLD_WAITING_FOR_ADJUDICATION
    if spans is WAITING_FOR_ANNOTATORS:
        return None, GOLD_NONE
    return spans, GOLD_STORED if selection.from_stored_gold else GOLD_ACCEPTED
