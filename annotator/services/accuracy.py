"""The Accuracy page's data: one database origin scored against another, and each article's errors.

Only origins in the database are offered (gold, model, model:SOURCE for each
source that pushed predictions, annotator:NAME): a web form never names a file
or a pipeline. Reviewers and admins may compare any of them; an annotator only
the model (any of its sources) and their own version, never gold (unless the
project lets annotators see it) or another annotator's work. An error is a predicted span with no
strict match in gold (a false positive) or a gold span with no strict match
among the predictions (a false negative); a wrong label is both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from sqlmodel import Session

from annotator.errors import Forbidden
from annotator.labels import LABELS
from annotator.models import Origin, Role, User
from annotator.services.evaluate import (
    BadSource,
    Evaluation,
    SchemeScore,
    evaluate_read,
    match_documents,
    read_gold,
    read_source,
)
from annotator.services.gold import Selection
from annotator.services.origins import PREANNOTATOR, model_sources
from annotator.services.settings import load_settings
from annotator.services.users import list_users

FALSE_POSITIVE = "fp"
FALSE_NEGATIVE = "fn"
# Articles shown in the error browser at most: the page stays readable on a large set.
MAX_ARTICLES = 100


@dataclass(frozen=True)
class ErrorSpan:
    start: int
    end: int
    label: str
    kind: str  # FALSE_POSITIVE or FALSE_NEGATIVE
    text: str


@dataclass(frozen=True)
class Piece:
    """A run of article text and the errors covering all of it (none: plain text)."""

    text: str
    errors: tuple[ErrorSpan, ...] = ()


@dataclass(frozen=True)
class ArticleErrors:
    external_id: str
    text: str
    errors: tuple[ErrorSpan, ...]

    def pieces(self) -> list[Piece]:
        """Cut the text at every error's edges; the pieces join up to exactly the text."""
        edges = sorted({0, len(self.text)} | {e.start for e in self.errors} | {e.end for e in self.errors})
        return [
            Piece(
                self.text[start:end],
                tuple(error for error in self.errors if error.start <= start and end <= error.end),
            )
            for start, end in pairwise(edges)
        ]


@dataclass
class AccuracyReport:
    gold: str
    pred: str
    label: str  # "" for every label
    evaluation: Evaluation
    articles: list[ArticleErrors] = field(default_factory=list)
    # Compared articles with errors of the chosen label, of which at most MAX_ARTICLES are in ``articles``.
    with_errors: int = 0

    def strict_rows(self) -> list[tuple[str, SchemeScore]]:
        """Return ("micro", score) then (label, score) per label, strict scheme."""
        evaluation = self.evaluation
        return [("micro", evaluation.micro["strict"])] + [
            (label, evaluation.per_label[label]["strict"]) for label in evaluation.labels
        ]


def _model_choices(session: Session) -> list[str]:
    """Return ``model``, then, once a source pushed predictions, each source and the pre-annotator alone."""
    sources = model_sources(session)
    if not sources:
        return [Origin.MODEL.value]
    return [Origin.MODEL.value] + [f"{Origin.MODEL.value}:{name}" for name in [*sources, PREANNOTATOR]]


def _all_sources(session: Session) -> list[str]:
    return [Origin.GOLD.value, *_model_choices(session)] + [
        f"{Origin.ANNOTATOR.value}:{user.username}" for user in list_users(session)
    ]


def source_choices(session: Session, viewer: User) -> list[str]:
    """Return the origins ``viewer`` may compare: all of them for reviewers; for annotators the model and
    their own version, and gold when the project lets annotators see it."""
    if viewer.role == Role.ANNOTATOR.value:
        own = [f"{Origin.ANNOTATOR.value}:{viewer.username}", *_model_choices(session)]
        return own + [Origin.GOLD.value] if load_settings(session).annotators_see_gold else own
    return _all_sources(session)


def default_sources(viewer: User) -> tuple[str, str]:
    """Return the gold and predicted sources the page starts with for ``viewer``."""
    if viewer.role == Role.ANNOTATOR.value:
        return f"{Origin.ANNOTATOR.value}:{viewer.username}", Origin.MODEL.value
    return Origin.GOLD.value, Origin.MODEL.value


def accuracy_report(
    session: Session, viewer: User, gold: str, pred: str, *, label: str = ""
) -> AccuracyReport:
    """Score ``pred`` against ``gold`` and list each compared article's errors of ``label`` (empty: all).

    Raises BadSource for a source that is not an origin of this database or an
    unknown label, and Forbidden for one that ``viewer`` may not read.
    """
    allowed = source_choices(session, viewer)
    for name, value in (("gold", gold), ("predicted", pred)):
        if value in allowed:
            continue
        if value in _all_sources(session):
            raise Forbidden(
                f"Annotators may compare only the model and their own version: choose {' or '.join(allowed)}."
            )
        raise BadSource(
            f"Unknown {name} source {value!r}: choose gold, model, model:SOURCE of a source that pushed "
            "predictions, or annotator:NAME of an existing user."
        )
    if label and label not in LABELS:
        raise BadSource(f"Unknown label {label!r}: choose one of {', '.join(LABELS)}, or all labels.")
    selection = Selection(gold)
    gold_documents, tally_only = read_gold(session, gold, selection=selection)
    predicted = read_source(session, pred)
    evaluation = evaluate_read(
        gold_documents,
        predicted,
        gold=gold,
        pred=pred,
        selection=selection,
        session=session,
        tally_only=tally_only,
    )
    report = AccuracyReport(gold, pred, label, evaluation)
    pairs, _, _ = match_documents(gold_documents, predicted)
    for gold_document, predicted_document in pairs:
        errors = _errors(gold_document.text, gold_document.spans, predicted_document.spans, label)
        if errors:
            report.with_errors += 1
            if len(report.articles) < MAX_ARTICLES:
                report.articles.append(ArticleErrors(gold_document.id, gold_document.text, errors))
    return report


def _errors(text: str, gold_spans, predicted_spans, label: str) -> tuple[ErrorSpan, ...]:
    def key(span):
        return span["start"], span["end"], span["label"]

    gold_keys = {key(span) for span in gold_spans}
    predicted_keys = {key(span) for span in predicted_spans}
    found = [
        ErrorSpan(start, end, span_label, kind, text[start:end])
        for kind, keys, other in (
            (FALSE_NEGATIVE, gold_keys, predicted_keys),
            (FALSE_POSITIVE, predicted_keys, gold_keys),
        )
        for start, end, span_label in keys - other
        if span_label in LABELS and (not label or span_label == label)
    ]
    return tuple(sorted(found, key=lambda error: (error.start, error.end, error.kind)))
