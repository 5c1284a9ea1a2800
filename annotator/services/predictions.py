"""Predictions pushed under a source name: another model's spans for an article, kept beside the pre-annotator's.

They are ``model`` spans whose ``source`` is ``api:NAME`` (see
``services/origins``), with a ``Prediction`` row that records the push even
when the source found nothing. Pushing again replaces that source's spans for
the article and leaves every other source's alone. ``model`` still means
every model span; ``model:NAME`` one source, in export, evaluation and the
Accuracy page. Working copies keep starting from the pre-annotator's spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session

from annotator.errors import AnnotatorError, NotFound
from annotator.labels import spans_errors
from annotator.models import Origin, Prediction, Span, User, utcnow
from annotator.services.assignment import lock_article
from annotator.services.origins import api_source, source_name_errors
from annotator.services.visibility import find_article


class BadPredictions(AnnotatorError):
    """Pushed predictions that cannot be stored: a bad source name or bad spans; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"The predictions were not stored: {len(problems)} problem(s).")


@dataclass(frozen=True)
class StoredPredictions:
    external_id: str
    source: str
    spans: int
    # The source's spans for the article that the push replaced (0 on the first push).
    replaced: int


def store_predictions(
    session: Session, external_id: str, source: str, spans: Any, *, user: User | None
) -> StoredPredictions:
    """Replace ``source``'s spans of the article with ``spans`` (gold-format dicts) and commit.

    The spans are checked as an import checks them: offsets inside the text,
    known labels, CASUALTY attributes, no two overlapping. Raises NotFound for
    an unknown article and BadPredictions, writing nothing, for any problem.
    """
    # An article of an import still running is not found: predictions wait until it commits.
    article = find_article(session, external_id)
    if article is None:
        raise NotFound(f"no article with id {external_id!r}")
    problems = source_name_errors(source) + spans_errors(article.text, spans)
    if problems:
        raise BadPredictions(problems)
    # Two pushes of one source to one article take turns, so neither leaves the other's spans behind.
    lock_article(session, article.id)
    stored = api_source(source)
    replaced = session.execute(
        delete(Span).where(
            Span.article_id == article.id, Span.origin == Origin.MODEL.value, Span.source == stored
        )
    ).rowcount
    now = utcnow()
    if spans:
        session.execute(
            insert(Span),
            [
                {
                    "article_id": article.id,
                    "start": span["start"],
                    "end": span["end"],
                    "label": span["label"],
                    "attrs": span.get("attrs") or {},
                    "origin": Origin.MODEL.value,
                    "owner_id": None,
                    "source": stored,
                    "created_at": now,
                    "updated_at": now,
                }
                for span in sorted(spans, key=lambda span: (span["start"], span["end"]))
            ],
        )
    row = session.get(Prediction, (article.id, source))
    if row is None:
        row = Prediction(article_id=article.id, source=source)
        session.add(row)
    row.spans = len(spans)
    row.pushed_at = now
    row.pushed_by_id = user.id if user is not None else None
    session.commit()
    return StoredPredictions(article.external_id, source, len(spans), replaced)
