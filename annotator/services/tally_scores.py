"""How well predicted spans give each article's tally: the ``tally`` section of an evaluation.

An article's gold tally is its stored gold tally (``gold_tally``, imported
with ``--origin gold``) when the gold is the database's and it has one, else
the tally of its gold spans; the predicted tally is the tally of the
evaluated spans. Per outcome (killed, wounded): the share of articles whose
total equals gold's, and the mean absolute error of the totals; and how well
"this article reports anyone killed" (``killed.reported``) is detected.
Articles with a stored gold tally but no gold spans count here, never in the
span scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from annotator.counts import Counts
from annotator.models import Article, GoldTally
from annotator.services.gold import Document
from annotator.services.visibility import visible_articles

# The outcomes whose totals are scored.
TOTALS = ("killed", "wounded")


@dataclass
class TallyScores:
    """Tally accuracy over the articles with gold and a prediction."""

    articles: int = 0
    # Of them, those whose gold is a stored gold tally rather than their gold spans' tally.
    from_gold_tallies: int = 0
    correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))
    absolute_error: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))
    killed_reported: Counts = field(default_factory=Counts)
    # Articles with a stored gold tally and no gold spans that have no predicted version.
    unmatched: list[str] = field(default_factory=list)

    def accuracy(self, outcome: str) -> float | None:
        return self.correct[outcome] / self.articles if self.articles else None

    def mae(self, outcome: str) -> float | None:
        return self.absolute_error[outcome] / self.articles if self.articles else None

    def add(self, gold: Mapping[str, Any], predicted: Mapping[str, Any], *, stored: bool) -> None:
        """Count one article: ``gold`` and ``predicted`` are full tallies (``ArticleTally.to_json()``'s shape)."""
        self.articles += 1
        self.from_gold_tallies += stored
        for outcome in TOTALS:
            difference = abs(gold[outcome]["total"] - predicted[outcome]["total"])
            self.correct[outcome] += difference == 0
            self.absolute_error[outcome] += difference
        expected, found = gold["killed"]["reported"], predicted["killed"]["reported"]
        self.killed_reported.tp += expected and found
        self.killed_reported.fp += found and not expected
        self.killed_reported.fn += expected and not found

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "from_gold_tallies": self.from_gold_tallies,
            "unmatched": self.unmatched,
            **{
                outcome: {
                    "total_correct": self.correct[outcome],
                    "total_accuracy": self.accuracy(outcome),
                    "total_mae": self.mae(outcome),
                }
                for outcome in TOTALS
            },
            "killed_reported": self.killed_reported.to_dict(),
        }

    def table(self) -> list[str]:
        """Return the scores as lines of plain text."""
        stored = f" ({self.from_gold_tallies} from a stored gold tally)" if self.from_gold_tallies else ""
        lines = [f"Article tally on {_plural(self.articles, 'article')}{stored}:"]
        if self.unmatched:
            shown = ", ".join(self.unmatched[:5]) + (", ..." if len(self.unmatched) > 5 else "")
            lines.append(
                f"  Left out {_plural(len(self.unmatched), 'article')} with a gold tally and no prediction: "
                f"{shown}."
            )
        if not self.articles:
            return lines
        lines.append(f"  {'outcome':<10} {'total correct':>13} {'accuracy':>8} {'mean abs. error':>15}")
        for outcome in TOTALS:
            lines.append(
                f"  {outcome:<10} {f'{self.correct[outcome]}/{self.articles}':>13} "
                f"{self.accuracy(outcome):>8.3f} {self.mae(outcome):>15.3f}"
            )
        found = self.killed_reported
        lines.append(
            f"  reports anyone killed: P {found.precision:.3f} R {found.recall:.3f} F1 {found.f1:.3f} "
            f"(tp/fp/fn {found.tp}/{found.fp}/{found.fn})"
        )
        return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def tally_only_documents(session: Session, gold_documents: Iterable[Document]) -> list[Document]:
    """Return the visible articles with a stored gold tally that are not among ``gold_documents``, spanless."""
    have = {document.article_id for document in gold_documents}
    # The ids first: most articles with a gold tally have gold spans too, and their texts are read already.
    missing = [
        article_id
        for article_id in session.execute(
            select(GoldTally.article_id)
            .join(Article, Article.id == GoldTally.article_id)
            .where(visible_articles())
        ).scalars()
        if article_id not in have
    ]
    documents = []
    for start in range(0, len(missing), 1000):
        rows = session.execute(
            select(Article.id, Article.external_id, Article.text).where(
                Article.id.in_(missing[start : start + 1000])
            )
        )
        documents += [
            Document(external_id, text, [], article_id=article_id) for article_id, external_id, text in rows
        ]
    return sorted(documents, key=lambda document: document.article_id)


def score_tallies(
    session: Session | None,
    pairs: Iterable[tuple[Document, Document]],
    *,
    gold_tallies: bool,
) -> TallyScores:
    """Score the predicted tally of each (gold, predicted) pair of documents against its gold tally.

    With ``gold_tallies`` (the gold is the database's), an article's stored
    gold tally is its gold where it has one. Cues are the articles' stored
    ones, read in one query per thousand, else found by rule in the text.
    """
    # annotator.nlp's package imports spaCy, which scoring spans alone never needs.
    from annotator.nlp.tally import tally
    from annotator.services.tallies import cues_of, stored_cues
    from annotator.services.tallies import gold_tallies as stored_tallies

    pairs = list(pairs)
    ids = [gold.article_id or predicted.article_id for gold, predicted in pairs]
    known = [each for each in ids if each is not None]
    cues = stored_cues(session, known) if session is not None else {}
    stored = stored_tallies(session, known) if session is not None and gold_tallies else {}
    scores = TallyScores()
    for (gold, predicted), article_id in zip(pairs, ids, strict=True):
        article_cues = cues_of(gold.text, cues.get(article_id))
        expected = stored.get(article_id) if gold.article_id is not None else None
        if expected is None:
            expected = tally(gold.spans, text=gold.text, cues=article_cues).to_json()
        found = tally(predicted.spans, text=gold.text, cues=article_cues).to_json()
        scores.add(expected, found, stored=article_id in stored and gold.article_id is not None)
    return scores
