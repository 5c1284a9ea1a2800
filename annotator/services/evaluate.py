"""Score any extractor's spans against gold: the four schemes of SemEval-2013 task 9.1, and casualty attributes.

The schemes and their counts are those of nervaluate (``nervaluate.Evaluator``,
1.x), computed here by the same greedy matching on character offsets:
``tests/services/test_evaluate_nervaluate.py`` checks every number against
nervaluate itself. Own code rather than a call to nervaluate because this one
finds each predicted span's overlapping gold spans by bisection instead of
comparing it with every gold span of the document, four times over per label,
which makes it many times faster on large sets (``bench/evaluate.py``).

Spans may overlap or nest on either side, as an extractor's output or a gold
file may: they are scored as nervaluate scores them, spans in order of
(start, end, label), and the evaluation counts them per side. Bisection on
the gold spans' ends needs ends that rise with the starts, which they do
when gold spans are apart (the common case, bisected on the ends themselves);
overlapping gold bisects on the furthest end reached so far, which always rises.

- strict: exact boundaries and the same label;
- exact: exact boundaries, any label;
- partial: any overlap, any label (an overlap that is not exact counts half);
- ent_type: any overlap with the same label.

As in nervaluate, "overlap" means the predicted span covers at least
``min_overlap`` percent (default 1) of the gold span, micro scores come from
matching all labels at once (a label confusion counts as incorrect), and
each label's scores from matching that label's spans alone.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from math import inf
from operator import itemgetter, lt
from pathlib import Path
from typing import Any

from sqlmodel import Session

from annotator.errors import AnnotatorError
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS, attribute_errors, spans_errors
from annotator.models import Origin
from annotator.services.gold import Document, Selection, iter_documents
from annotator.services.origins import parse_origin
from annotator.services.tally_scores import TallyScores, score_tallies, tally_only_documents

SCHEMES = ("strict", "exact", "partial", "ent_type")
# Schemes where a partial match earns half a point in precision and recall (nervaluate's formula).
_HALF_CREDIT = ("partial", "ent_type")
PIPELINE_PREFIX = "pipeline:"


class BadSource(AnnotatorError):
    """An evaluation source that cannot be read: a missing file, a bad origin, a pipeline for gold."""


@dataclass
class SchemeScore:
    """Counts of one scheme; precision, recall and F1 derive from them as in nervaluate."""

    scheme: str
    correct: int = 0
    incorrect: int = 0
    partial: int = 0
    missed: int = 0
    spurious: int = 0

    @property
    def possible(self) -> int:
        """Gold spans."""
        return self.correct + self.incorrect + self.partial + self.missed

    @property
    def actual(self) -> int:
        """Predicted spans."""
        return self.correct + self.incorrect + self.partial + self.spurious

    @property
    def _credit(self) -> float:
        return self.correct + 0.5 * self.partial if self.scheme in _HALF_CREDIT else self.correct

    @property
    def precision(self) -> float:
        return self._credit / self.actual if self.actual > 0 else 0

    @property
    def recall(self) -> float:
        return self._credit / self.possible if self.possible > 0 else 0

    @property
    def f1(self) -> float:
        precision, recall = self.precision, self.recall
        return 2 * (precision * recall) / (precision + recall) if (precision + recall) > 0 else 0

    def add(self, counts: Sequence[int]) -> None:
        self.correct += counts[0]
        self.incorrect += counts[1]
        self.partial += counts[2]
        self.missed += counts[3]
        self.spurious += counts[4]

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "correct": self.correct,
            "incorrect": self.incorrect,
            "partial": self.partial,
            "missed": self.missed,
            "spurious": self.spurious,
            "possible": self.possible,
            "actual": self.actual,
        }


def _schemes() -> dict[str, SchemeScore]:
    return {scheme: SchemeScore(scheme) for scheme in SCHEMES}


@dataclass
class CasualtyAttributes:
    """How often the attributes of strictly matched CASUALTY spans agree, and how far off counts are."""

    matched: int = 0
    correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CASUALTY_ATTRIBUTES, 0))
    # Pairs where gold and prediction both give a count, and the sum of their differences.
    count_pairs: int = 0
    count_error: int = 0

    def accuracy(self, name: str) -> float | None:
        return self.correct[name] / self.matched if self.matched else None

    @property
    def count_mae(self) -> float | None:
        return self.count_error / self.count_pairs if self.count_pairs else None

    def add(self, gold: Mapping[str, Any], predicted: Mapping[str, Any]) -> None:
        self.matched += 1
        for name in CASUALTY_ATTRIBUTES:
            if gold.get(name) == predicted.get(name):
                self.correct[name] += 1
        gold_count, predicted_count = gold.get("count"), predicted.get("count")
        if isinstance(gold_count, int) and isinstance(predicted_count, int):
            self.count_pairs += 1
            self.count_error += abs(gold_count - predicted_count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "attributes": {
                name: {"correct": self.correct[name], "accuracy": self.accuracy(name)}
                for name in CASUALTY_ATTRIBUTES
            },
            "count_mae": self.count_mae,
            "count_pairs": self.count_pairs,
        }


@dataclass
class Evaluation:
    """Scores of one extractor against gold, per scheme: micro and per label; plus casualty attributes."""

    labels: tuple[str, ...]
    micro: dict[str, SchemeScore] = field(default_factory=_schemes)
    per_label: dict[str, dict[str, SchemeScore]] = field(default_factory=dict)
    casualty_attrs: CasualtyAttributes = field(default_factory=CasualtyAttributes)
    documents: int = 0
    gold: str = ""
    pred: str = ""
    # Gold documents left out: no predicted document with their id or text, or
    # one with their id but another text (whose offsets cannot be compared).
    unmatched: list[str] = field(default_factory=list)
    text_differs: list[str] = field(default_factory=list)
    # Per side, the scored spans that overlap another scored span of their document.
    overlapping: dict[str, int] = field(default_factory=lambda: {"gold": 0, "pred": 0})
    # Articles of the database's gold left out because their gold awaits a reviewer or annotators.
    waiting_for_adjudication: list[str] = field(default_factory=list)
    waiting_for_annotators: list[str] = field(default_factory=list)
    # How well the predicted spans give each article's tally (services/tally_scores.py).
    tally: TallyScores = field(default_factory=TallyScores)

    def __post_init__(self) -> None:
        for label in self.labels:
            self.per_label.setdefault(label, _schemes())

    def to_dict(self) -> dict[str, Any]:
        """Return the scores as plain JSON-ready values (what ``annotator evaluate --json`` prints)."""
        return {
            "gold": self.gold,
            "pred": self.pred,
            "documents": self.documents,
            "unmatched": self.unmatched,
            "text_differs": self.text_differs,
            "overlapping": dict(self.overlapping),
            "waiting_for_adjudication": self.waiting_for_adjudication,
            "waiting_for_annotators": self.waiting_for_annotators,
            "labels": list(self.labels),
            "micro": {scheme: score.to_dict() for scheme, score in self.micro.items()},
            "per_label": {
                label: {scheme: score.to_dict() for scheme, score in schemes.items()}
                for label, schemes in self.per_label.items()
            },
            "casualty_attrs": self.casualty_attrs.to_dict(),
            "tally": self.tally.to_dict(),
        }

    def table(self) -> str:
        """Return the scores as a plain-text table."""
        lines = [
            f"Gold: {self.gold}; predicted: {self.pred}; {_plural(self.documents, 'document')} compared.",
        ]
        if self.unmatched:
            lines.append(
                f"Left out {_plural(len(self.unmatched), 'gold document')} with no prediction: {_few(self.unmatched)}."
            )
        if self.text_differs:
            lines.append(
                f"Left out {_plural(len(self.text_differs), 'gold document')} whose prediction has another text: "
                f"{_few(self.text_differs)}."
            )
        for waiting, why in (
            (self.waiting_for_adjudication, "waiting for adjudication (two or more accepted versions)"),
            (self.waiting_for_annotators, "waiting for more annotators"),
        ):
            if waiting:
                lines.append(
                    f"Left out {_plural(len(waiting), 'article')} {why}, with no gold yet: {_few(waiting)}."
                )
        for side, noun in (("gold", "gold"), ("pred", "predicted")):
            # Never 1: a span overlapping another makes two.
            if self.overlapping[side]:
                lines.append(
                    f"Note: {self.overlapping[side]} {noun} spans overlap another {noun} span; "
                    "scored as nervaluate does."
                )
        header = ("scheme", "label", "correct", "incorrect", "partial", "missed", "spurious", "P", "R", "F1")
        lines += ["", "{:<9} {:<9} {:>8} {:>9} {:>8} {:>7} {:>9} {:>6} {:>6} {:>6}".format(*header)]
        for scheme in SCHEMES:
            rows = [("micro", self.micro[scheme])] + [
                (label, self.per_label[label][scheme]) for label in self.labels
            ]
            for index, (name, score) in enumerate(rows):
                lines.append(
                    f"{scheme if index == 0 else '':<9} {name:<9} {score.correct:>8} {score.incorrect:>9} "
                    f"{score.partial:>8} {score.missed:>7} {score.spurious:>9} "
                    f"{score.precision:>6.3f} {score.recall:>6.3f} {score.f1:>6.3f}"
                )
        if CASUALTY in self.labels:
            attrs = self.casualty_attrs
            lines += ["", f"CASUALTY attributes on {attrs.matched} strict matches:"]
            for name in CASUALTY_ATTRIBUTES:
                accuracy = attrs.accuracy(name)
                shown = "-" if accuracy is None else f"{accuracy:.3f}"
                line = f"  {name:<10} accuracy {shown:>5} ({attrs.correct[name]}/{attrs.matched})"
                if name == "count" and attrs.count_mae is not None:
                    line += f"; mean absolute error {attrs.count_mae:.3f} over {attrs.count_pairs} pairs with counts"
                lines.append(line)
        lines += ["", *self.tally.table()]
        return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _few(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (", ..." if len(items) > shown else "")


# --- scoring ---------------------------------------------------------------------------


def _sorted(spans: Iterable[Mapping[str, Any]], labels: frozenset[str]) -> list[tuple[int, int, str, Any]]:
    return sorted(
        (
            (span["start"], span["end"], span["label"], span.get("attrs"))
            for span in spans
            if span["label"] in labels
        ),
        key=lambda span: span[:3],
    )


_START, _END = itemgetter(0), itemgetter(1)


def _bounds(spans: list[tuple[int, int, str, Any]]) -> tuple[list[int], list[int]]:
    """Return the starts and the ends of ``spans``."""
    return list(map(_START, spans)), list(map(_END, spans))


def _overlapping(starts: Sequence[int], ends: Sequence[int]) -> int:
    """Return how many spans overlap another one; the spans are sorted by start."""
    # The common case at C speed: every span ends before the next one starts.
    if not any(map(lt, starts[1:], ends)):
        return 0
    # Span i overlaps an earlier one when the furthest end before it passes its
    # start, and a later one when the next start comes before its end.
    count = 0
    reach = -inf
    last = len(starts) - 1
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if reach > start or (index < last and starts[index + 1] < end):
            count += 1
        reach = max(reach, end)
    return count


def _candidates(
    starts: Sequence[int],
    ends: Sequence[int],
    reach: Sequence[int],
    pred: list[tuple[int, int, str, Any]],
    min_overlap: float,
) -> list[list[int]]:
    """Return, per predicted span, the indices of the gold spans it overlaps enough, in gold order.

    ``starts`` and ``ends`` are the gold spans' (sorted by start), ``reach``
    the furthest end up to each gold span: bisection finds the first gold span
    that may reach past a predicted start, and the first that starts past its end.
    """
    found = []
    for start, end, _, _ in pred:
        low = bisect_right(reach, start)
        high = bisect_left(starts, end)
        found.append(
            [
                index
                for index in range(low, high)
                if ends[index] > start
                # nervaluate's test, to the same float: the share of the gold span covered.
                and ((min(end, ends[index]) - max(start, starts[index])) / (ends[index] - starts[index]))
                * 100.0
                >= min_overlap
            ]
        )
    return found


def _match(
    true: list[tuple[int, int, str, Any]],
    pred: list[tuple[int, int, str, Any]],
    candidates: list[list[int]],
    gold_count: int,
    pairs: list[tuple[int, int]] | None = None,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Return [correct, incorrect, partial, missed, spurious] per scheme (strict, exact, partial, ent_type).

    The greedy matching of nervaluate's strategies, predicted spans in order.
    ``candidates`` index into ``true``, of which ``gold_count`` spans take part.
    ``pairs``, when given, receives the (gold, predicted) indices of strict matches.
    """
    strict, exact, partial, ent_type = [0] * 5, [0] * 5, [0] * 5, [0] * 5
    taken_strict: set[int] = set()
    taken_exact: set[int] = set()
    taken_partial: set[int] = set()
    taken_type: set[int] = set()
    for index, (start, end, label, _) in enumerate(pred):
        found = candidates[index]
        if not found:
            strict[4] += 1
            exact[4] += 1
            partial[4] += 1
            ent_type[4] += 1
            continue
        if len(found) == 1:
            # The common case, one overlapping gold span: the loops below reduce to this.
            gold = found[0]
            gold_start, gold_end, gold_label, _ = true[gold]
            bounds = gold_start == start and gold_end == end
            same_label = gold_label == label
            if gold in taken_strict:
                strict[4] += 1
            else:
                taken_strict.add(gold)
                if bounds and same_label:
                    strict[0] += 1
                    if pairs is not None:
                        pairs.append((gold, index))
                else:
                    strict[1] += 1
            if gold in taken_exact:
                exact[4] += 1
            else:
                taken_exact.add(gold)
                exact[0 if bounds else 1] += 1
            if gold in taken_partial:
                partial[4] += 1
            else:
                taken_partial.add(gold)
                partial[0 if bounds else 2] += 1
            if gold in taken_type:
                ent_type[4] += 1
            else:
                taken_type.add(gold)
                ent_type[0 if same_label else 1] += 1
            continue
        # strict: same boundaries and label, else the first overlapping gold span is "incorrect".
        hit = other = None
        for gold in found:
            if gold in taken_strict:
                continue
            gold_start, gold_end, gold_label, _ = true[gold]
            if gold_start == start and gold_end == end and gold_label == label:
                hit = gold
                break
            if other is None:
                other = gold
        if hit is not None:
            strict[0] += 1
            taken_strict.add(hit)
            if pairs is not None:
                pairs.append((hit, index))
        elif other is not None:
            strict[1] += 1
            taken_strict.add(other)
        else:
            strict[4] += 1
        # exact: same boundaries, any label.
        hit = other = None
        for gold in found:
            if gold in taken_exact:
                continue
            if true[gold][0] == start and true[gold][1] == end:
                hit = gold
                break
            if other is None:
                other = gold
        if hit is not None:
            exact[0] += 1
            taken_exact.add(hit)
        elif other is not None:
            exact[1] += 1
            taken_exact.add(other)
        else:
            exact[4] += 1
        # partial: same boundaries, else the first overlapping gold span is a partial match.
        hit = other = None
        for gold in found:
            if gold in taken_partial:
                continue
            if true[gold][0] == start and true[gold][1] == end:
                hit = gold
                break
            if other is None:
                other = gold
        if hit is not None:
            partial[0] += 1
            taken_partial.add(hit)
        elif other is not None:
            partial[2] += 1
            taken_partial.add(other)
        else:
            partial[4] += 1
        # ent_type: the same-label gold span with the closest boundaries, else the
        # first overlapping one of another label is "incorrect".
        hit = other = None
        distance = 0
        for gold in found:
            if gold in taken_type:
                continue
            gold_start, gold_end, gold_label, _ = true[gold]
            if gold_label == label:
                gap = abs(start - gold_start) + abs(end - gold_end)
                if hit is None or gap < distance:
                    hit, distance = gold, gap
            elif other is None:
                other = gold
        if hit is not None:
            ent_type[0] += 1
            taken_type.add(hit)
        elif other is not None:
            ent_type[1] += 1
            taken_type.add(other)
        else:
            ent_type[4] += 1
    for counts, taken in (
        (strict, taken_strict),
        (exact, taken_exact),
        (partial, taken_partial),
        (ent_type, taken_type),
    ):
        counts[3] = gold_count - len(taken)
    return strict, exact, partial, ent_type


def score(
    pairs: Iterable[tuple[Iterable[Mapping[str, Any]], Iterable[Mapping[str, Any]]]],
    *,
    labels: Iterable[str] = LABELS,
    min_overlap: float = 1.0,
) -> Evaluation:
    """Score (gold spans, predicted spans) pairs of documents; spans are gold-format dicts.

    Spans whose label is not in ``labels`` are ignored on both sides.
    """
    labels = tuple(labels)
    wanted = frozenset(labels)
    evaluation = Evaluation(labels)
    micro = [evaluation.micro[scheme] for scheme in SCHEMES]
    per_label = {label: [evaluation.per_label[label][scheme] for scheme in SCHEMES] for label in labels}
    casualty = CASUALTY in wanted
    for gold_spans, predicted_spans in pairs:
        evaluation.documents += 1
        true = _sorted(gold_spans, wanted)
        pred = _sorted(predicted_spans, wanted)
        if not true and not pred:
            continue
        starts, ends = _bounds(true)
        overlapping_gold = _overlapping(starts, ends)
        evaluation.overlapping["gold"] += overlapping_gold
        evaluation.overlapping["pred"] += _overlapping(*_bounds(pred))
        # Apart gold spans' ends rise already; overlapping ones bisect on the furthest end so far.
        reach = list(accumulate(ends, max)) if overlapping_gold else ends
        candidates = _candidates(starts, ends, reach, pred, min_overlap)
        strict_pairs: list[tuple[int, int]] = []
        for total, counts in zip(micro, _match(true, pred, candidates, len(true), strict_pairs), strict=True):
            total.add(counts)
        if casualty:
            for gold, predicted in strict_pairs:
                if true[gold][2] == CASUALTY:
                    evaluation.casualty_attrs.add(true[gold][3] or {}, pred[predicted][3] or {})
        gold_counts: dict[str, int] = {}
        for span in true:
            gold_counts[span[2]] = gold_counts.get(span[2], 0) + 1
        predicted_of: dict[str, list[int]] = {}
        for index, span in enumerate(pred):
            predicted_of.setdefault(span[2], []).append(index)
        for label in gold_counts.keys() | predicted_of.keys():
            # One label's spans matched alone: its predictions, with only its gold spans as candidates.
            indices = predicted_of.get(label, [])
            counts_of = _match(
                true,
                [pred[index] for index in indices],
                [[gold for gold in candidates[index] if true[gold][2] == label] for index in indices],
                gold_counts.get(label, 0),
            )
            for total, counts in zip(per_label[label], counts_of, strict=True):
                total.add(counts)
    return evaluation


def match_documents(
    gold: Iterable[Document], predicted: Iterable[Document]
) -> tuple[list[tuple[Document, Document]], list[str], list[str]]:
    """Pair each gold document with the predicted one of the same id, else of the same text.

    Returns the pairs, then the ids of gold documents without a partner: those
    with no predicted document of their id or text, and those whose id matched
    a document of another text (whose offsets cannot be compared).
    """
    by_id: dict[str, Document] = {}
    by_text: dict[str, Document] = {}
    for document in predicted:
        by_id.setdefault(document.id, document)
        by_text.setdefault(document.text, document)
    pairs, unmatched, text_differs = [], [], []
    for document in gold:
        partner = by_id.get(document.id)
        if partner is None or partner.text != document.text:
            partner = by_text.get(document.text, partner)
        if partner is None:
            unmatched.append(document.id)
        elif partner.text != document.text:
            text_differs.append(document.id)
        else:
            pairs.append((document, partner))
    return pairs, unmatched, text_differs


def evaluate(
    gold: Iterable[Document],
    predicted: Iterable[Document],
    *,
    labels: Iterable[str] = LABELS,
    min_overlap: float = 1.0,
) -> Evaluation:
    """Match the documents (by id, else by text) and score the predicted spans against the gold ones."""
    pairs, unmatched, text_differs = match_documents(gold, predicted)
    evaluation = score(
        ((one.spans, other.spans) for one, other in pairs), labels=labels, min_overlap=min_overlap
    )
    evaluation.unmatched, evaluation.text_differs = unmatched, text_differs
    return evaluation


# --- sources ---------------------------------------------------------------------------


def is_origin(source: str) -> bool:
    """Return whether ``source`` names an origin in the database rather than a file or a pipeline."""
    return source in (Origin.GOLD, Origin.MODEL) or source.startswith(
        (f"{Origin.ANNOTATOR.value}:", f"{Origin.MODEL.value}:")
    )


def read_source(
    session: Session | None, source: str, *, selection: Selection | None = None
) -> list[Document]:
    """Return the documents of a JSONL file in the gold format or of an origin (gold, model, model:SOURCE,
    annotator:NAME).

    ``selection``, for an origin, is filled in with what the read left out.
    """
    if source.startswith(PIPELINE_PREFIX):
        raise BadSource(f"{source}: a pipeline predicts spans; it cannot be the gold")
    if is_origin(source):
        if session is None:
            raise BadSource(f"{source}: an origin in the database needs a database session")
        from annotator.errors import NotFound

        try:
            owner = parse_origin(session, source, model_sources=True)
        except (ValueError, NotFound) as error:
            raise BadSource(str(error)) from error
        return list(iter_documents(session, owner, selection=selection))
    return read_jsonl(Path(source))


def read_gold(
    session: Session | None, source: str, *, selection: Selection | None = None
) -> tuple[list[Document], list[Document]]:
    """Return the documents of the gold ``source``, and the articles that are gold by a stored tally alone.

    The second list is empty unless ``source`` is the database's gold: its
    articles with a stored gold tally and no gold spans, spanless. They count
    in the tally scores, never in the span scores.
    """
    documents = read_source(session, source, selection=selection)
    if session is None or source != Origin.GOLD.value:
        return documents, []
    return documents, tally_only_documents(session, documents)


def read_jsonl(path: Path) -> list[Document]:
    """Return the documents of a JSONL file in the gold format, checked as an import checks them.

    Lines are first read by a quick check that accepts only plainly valid
    records; any file it does not accept whole is read by the importer's
    reader, which accepts what an import accepts and names each problem with
    its file and line. Unlike an import, spans may overlap or nest: an
    extractor's output (or a gold file) may hold such spans, and they are scored.
    """
    from annotator.services.importer import Problems, read_file

    if not path.is_file():
        raise BadSource(
            f"{path}: no such file (a source is a .jsonl file, gold, model, model:SOURCE, annotator:NAME or pipeline:NAME)"
        )
    if path.suffix.lower() != ".jsonl":
        raise BadSource(f"{path}: expected a .jsonl file in the gold format")
    documents = _read_plainly_valid(path)
    if documents is not None:
        return documents
    problems = Problems()
    records = read_file(path, problems, allow_overlaps=True)
    if problems:
        raise BadSource(str(problems.error()))
    return [Document(record.external_id, record.text, record.spans, record.meta) for record in records]


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every line: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
MAX_ID_LENGTH = 255


def _read_plainly_valid(path: Path) -> list[Document] | None:
    """Return the documents of ``path`` when every line is plainly valid, else None.

    A subset of the importer's checks, each one strict: ids are stripped strings
    or integers, texts hold no NUL or lone surrogate, spans lie inside the text
    (in any order; they may overlap). Metadata is not read (evaluation does not use it).
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    documents = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            item = _DECODER.decode(line)
        except ValueError:
            return None
        if type(item) is not dict:
            return None
        raw_id, body = item.get("id"), item.get("text")
        if type(raw_id) is int:
            raw_id = str(raw_id)
        if type(raw_id) is not str or not raw_id.strip() or len(raw_id.strip()) > MAX_ID_LENGTH:
            return None
        if type(body) is not str or not body.strip() or "\x00" in body:
            return None
        try:
            body.encode("utf-8")
        except UnicodeEncodeError:
            return None
        spans = _plainly_valid_spans(body, item.get("spans"))
        if spans is None:
            return None
        documents.append(Document(raw_id.strip(), body, spans))
    return documents or None


def _plainly_valid_spans(text: str, spans: Any) -> list[dict[str, Any]] | None:
    if spans is None:
        return []
    if type(spans) is not list:
        return None
    found = []
    for span in spans:
        if type(span) is not dict:
            return None
        start, end, label, attrs = span.get("start"), span.get("end"), span.get("label"), span.get("attrs")
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(text):
            return None
        if label not in LABELS or (
            attrs is not None and (type(attrs) is not dict or attribute_errors(label, attrs))
        ):
            return None
        found.append({"start": start, "end": end, "label": label, "attrs": attrs or {}})
    return found


def load_extractor(name: str):
    """Load the spaCy pipeline ``name`` (a package or a path; empty: the pre-annotator's default).

    A pipeline that already predicts ACTOR, LOCATION or CASUALTY (one trained
    on an export, or a saved pre-annotator) runs as it is. Any other, such as
    en_core_web_sm, gets the pre-annotator's components on top, as
    ``annotator preannotate --model NAME`` does.
    """
    from annotator.nlp import load_pipeline

    if name and _predicts_labels(name):
        import spacy

        return spacy.load(name)
    return load_pipeline(model=name or None)


def _predicts_labels(name: str) -> bool:
    import spacy.util

    path = Path(name)
    if not path.exists():
        try:
            path = spacy.util.get_package_path(name)
        except ModuleNotFoundError:
            return False
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        return False
    meta = spacy.util.load_meta(meta_path)
    if "conflict_entities" in meta.get("pipeline", ()):
        return True
    return any(set(found) & set(LABELS) for found in meta.get("labels", {}).values())


def predict_documents(gold: Iterable[Document], nlp, *, batch_size: int = 32) -> list[Document]:
    """Run ``nlp`` on the texts of ``gold``; return its documents under the same ids."""
    from annotator.nlp import doc_to_spans

    gold = list(gold)
    docs = nlp.pipe((document.text for document in gold), batch_size=batch_size)
    return [
        Document(document.id, document.text, [_stored(span) for span in doc_to_spans(doc)])
        for document, doc in zip(gold, docs, strict=True)
    ]


def _stored(span: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "start": span["start"],
        "end": span["end"],
        "label": span["label"],
        "attrs": span.get("attrs") or {},
    }


def evaluate_sources(
    session: Session | None,
    gold: str,
    pred: str,
    *,
    labels: Iterable[str] = LABELS,
    nlp=None,
) -> Evaluation:
    """Score the source ``pred`` against the source ``gold``.

    A source is a JSONL file in the gold format, an origin in the database
    (gold, model, model:SOURCE, annotator:NAME) or, for ``pred`` only, pipeline:NAME_OR_PATH
    (that spaCy pipeline run on the gold texts; ``nlp``, when given, is used
    instead of loading it). Raises BadSource when a source cannot be read.
    """
    labels = tuple(labels)
    check_labels(labels)
    selection = Selection(gold)
    gold_documents, tally_only = read_gold(session, gold, selection=selection)
    if pred.startswith(PIPELINE_PREFIX):
        if nlp is None:
            nlp = load_extractor(pred.removeprefix(PIPELINE_PREFIX).strip())
        predicted = predict_documents([*gold_documents, *tally_only], nlp)
    else:
        predicted = read_source(session, pred)
    return evaluate_read(
        gold_documents,
        predicted,
        gold=gold,
        pred=pred,
        labels=labels,
        selection=selection,
        session=session,
        tally_only=tally_only,
    )


def check_labels(labels: Sequence[str]) -> None:
    """Raise BadSource unless ``labels`` is a non-empty choice among the labels."""
    unknown = [label for label in labels if label not in LABELS]
    if unknown or not labels:
        raise BadSource(f"labels must be among {', '.join(LABELS)}, not {', '.join(unknown) or 'none'}")


def evaluate_read(
    gold_documents: list[Document],
    predicted: list[Document],
    *,
    gold: str,
    pred: str,
    labels: Iterable[str] = LABELS,
    selection: Selection | None = None,
    session: Session | None = None,
    tally_only: Sequence[Document] = (),
) -> Evaluation:
    """Score documents already read, naming their sources ``gold`` and ``pred`` in the report.

    ``selection`` is what reading the gold origin left out (articles waiting for
    adjudication or annotators); None for gold that was not read from the database.
    ``tally_only`` are the articles that are gold by a stored tally alone
    (``read_gold``); ``session`` reads stored cues and, when ``gold`` is the
    database's gold, stored gold tallies.
    """
    evaluation = evaluate(gold_documents, predicted, labels=labels)
    evaluation.gold, evaluation.pred = gold, pred
    if selection is not None:
        evaluation.waiting_for_adjudication = selection.waiting_for_adjudication
        evaluation.waiting_for_annotators = selection.waiting_for_annotators
    pairs, _, _ = match_documents(gold_documents, predicted)
    extra, unmatched, text_differs = match_documents(tally_only, predicted)
    evaluation.tally = score_tallies(session, [*pairs, *extra], gold_tallies=gold == Origin.GOLD.value)
    evaluation.tally.unmatched = unmatched + text_differs
    return evaluation


# --- sources sent over HTTP ------------------------------------------------------------------------

# Problems an inline source's error lists, at most; the rest are counted.
MAX_LISTED_PROBLEMS = 20


def evaluate_over_http(
    session: Session,
    gold: str | list[dict[str, Any]],
    pred: str | list[dict[str, Any]],
    *,
    labels: Iterable[str] = LABELS,
) -> Evaluation:
    """Score ``pred`` against ``gold``, each an origin of the database or a list of inline documents.

    An inline document is ``{"id", "text", "spans"}`` in the gold format
    (spans may overlap). A file path or a pipeline is refused with BadSource:
    a request must not read the server's files, nor load and run code.
    """
    labels = tuple(labels)
    check_labels(labels)
    sides = {}
    for side, source in (("gold", gold), ("pred", pred)):
        if isinstance(source, str):
            _check_http_origin(side, source)
        else:
            sides[side] = _inline_documents(side, source)
    if not sides:
        return evaluate_sources(session, gold, pred, labels=labels)
    selection = None
    tally_only: list[Document] = []
    if "gold" in sides:
        gold_documents = sides["gold"]
    else:
        selection = Selection(gold)
        gold_documents, tally_only = read_gold(session, gold, selection=selection)
    predicted = sides["pred"] if "pred" in sides else read_source(session, pred)
    return evaluate_read(
        gold_documents,
        predicted,
        gold=gold if isinstance(gold, str) else _inline_name(gold),
        pred=pred if isinstance(pred, str) else _inline_name(pred),
        labels=labels,
        selection=selection,
        session=session,
        tally_only=tally_only,
    )


def _inline_name(documents: list) -> str:
    return f"inline ({_plural(len(documents), 'document')})"


def _check_http_origin(side: str, source: str) -> None:
    if source.startswith(PIPELINE_PREFIX):
        raise BadSource(
            f"{side}: {source!r} is a pipeline; over HTTP a source is never one, as running it would load "
            "code on the server. Run `annotator evaluate --pred pipeline:...` on the command line, or send "
            "the pipeline's output inline."
        )
    if not is_origin(source):
        raise BadSource(
            f"{side}: {source!r} is no origin; over HTTP a source is gold, model, model:SOURCE, "
            'annotator:NAME or {"documents": [...]} sent inline, never a file on the server.'
        )


def _inline_documents(side: str, documents: list[dict[str, Any]]) -> list[Document]:
    """Return inline documents checked as an evaluation file is, or raise BadSource listing every problem."""
    problems: list[str] = []
    found = []
    for index, item in enumerate(documents):
        where = f"{side}.documents[{index}]"
        raw_id, text, spans = item.get("id"), item.get("text"), item.get("spans") or []
        external_id = (
            str(raw_id).strip() if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else ""
        )
        if not external_id or len(external_id) > MAX_ID_LENGTH:
            problems.append(f"{where}: id must be a non-empty string of at most {MAX_ID_LENGTH} characters")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: text must be a non-empty string")
            continue
        errors = spans_errors(text, spans, allow_overlaps=True)
        problems.extend(f"{where}: {error}" for error in errors)
        if not errors:
            found.append(
                Document(
                    external_id,
                    text,
                    [
                        {
                            "start": s["start"],
                            "end": s["end"],
                            "label": s["label"],
                            "attrs": s.get("attrs") or {},
                        }
                        for s in spans
                    ],
                )
            )
    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > MAX_LISTED_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_LISTED_PROBLEMS} more problems")
        raise BadSource("\n".join(shown))
    return found
