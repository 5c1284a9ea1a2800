"""Score predicted spans against gold spans: exact-span P/R/F1 and casualty attribute accuracy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotator.counts import Counts
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS


class LabelScore(Counts):
    """Counts of one label; precision, recall and F1 derive from them."""


@dataclass
class Scores:
    """Per-label and micro scores of exact spans, and per-attribute accuracy on matched casualties."""

    labels: dict[str, LabelScore] = field(default_factory=lambda: {label: LabelScore() for label in LABELS})
    attribute_hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CASUALTY_ATTRIBUTES, 0))
    matched_casualties: int = 0
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # (doc id, kind, label, text)

    @property
    def micro(self) -> LabelScore:
        total = LabelScore()
        for score in self.labels.values():
            total.tp += score.tp
            total.fp += score.fp
            total.fn += score.fn
        return total

    def attribute_accuracy(self, name: str) -> float:
        return self.attribute_hits[name] / self.matched_casualties if self.matched_casualties else 0.0

    def table(self) -> str:
        """Return the scores as a small plain-text table."""
        lines = [f"{'label':<10} {'P':>6} {'R':>6} {'F1':>6}  tp/fp/fn"]
        for name, score in [*self.labels.items(), ("micro", self.micro)]:
            lines.append(
                f"{name:<10} {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}  {score.tp}/{score.fp}/{score.fn}"
            )
        for name in CASUALTY_ATTRIBUTES:
            lines.append(
                f"{name:<10} {self.attribute_accuracy(name):6.3f} ({self.attribute_hits[name]}/{self.matched_casualties})"
            )
        return "\n".join(lines)


def _key(span: Mapping[str, Any]) -> tuple[int, int, str]:
    return span["start"], span["end"], span["label"]


def score(gold: Iterable[Mapping[str, Any]], predicted: Iterable[Sequence[Mapping[str, Any]]]) -> Scores:
    """Compare gold records (``{"id", "text", "spans"}``) with the predicted span lists, in order."""
    scores = Scores()
    for record, spans in zip(gold, predicted, strict=True):
        text = record["text"]
        gold_spans = {_key(span): span for span in record["spans"]}
        predicted_spans = {_key(span): span for span in spans}
        for key in predicted_spans:
            label_score = scores.labels[key[2]]
            if key in gold_spans:
                label_score.tp += 1
            else:
                label_score.fp += 1
                scores.errors.append((record.get("id", ""), "fp", key[2], text[key[0] : key[1]]))
        for key in gold_spans.keys() - predicted_spans.keys():
            scores.labels[key[2]].fn += 1
            scores.errors.append((record.get("id", ""), "fn", key[2], text[key[0] : key[1]]))
        for key, span in gold_spans.items():
            if key[2] != CASUALTY or key not in predicted_spans:
                continue
            scores.matched_casualties += 1
            gold_attrs = span.get("attrs") or {}
            predicted_attrs = predicted_spans[key].get("attrs") or {}
            for name in CASUALTY_ATTRIBUTES:
                if gold_attrs.get(name) == predicted_attrs.get(name):
                    scores.attribute_hits[name] += 1
                else:
                    scores.errors.append(
                        (
                            record.get("id", ""),
                            f"attr:{name}",
                            CASUALTY,
                            f"{text[key[0] : key[1]]}: gold {gold_attrs.get(name)!r} predicted {predicted_attrs.get(name)!r}",
                        )
                    )
    return scores
