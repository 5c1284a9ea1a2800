"""How far annotators agree: pairwise span F1, token-level kappa and alpha, casualty attributes.

Everything is computed over the articles that two or more annotators
accepted (their accepted versions only):

- span F1 for every pair of annotators, micro and per label, scored by
  ``evaluate.score`` (equal to nervaluate), the first of the two names in
  sorted order as the gold side: ``strict`` is nervaluate's strict scheme
  (same start, end and label), ``lenient`` its ent_type scheme (overlapping,
  same label). Two versions that are both empty agree perfectly: F1 1.0;
- token-level chance-corrected agreement: each non-whitespace token of
  spaCy's English tokenizer takes the label of the span covering its first
  character, or ``O`` (labels left out of ``labels`` count as ``O``). Cohen's
  kappa for each pair over the articles both accepted; Krippendorff's alpha
  (nominal) across all annotators over every compared article, an annotator
  who did not accept an article being a missing value there. Both are own
  numpy code, proven equal to scikit-learn's ``cohen_kappa_score`` and
  ``krippendorff.alpha`` in the tests: they reduce to a few counts, added up
  chunk by chunk, so the tokens of all articles are never held at once. A
  measure that is undefined (a single category, no pairable tokens) is
  None, never NaN;
- CASUALTY attributes over strictly matched CASUALTY span pairs;
- per article, the mean strict F1 over the pairs that accepted it;
- each annotator against the pre-annotator's spans (strict F1, the
  annotator as the gold side).

``compute`` is the pure core; ``agreement`` reads the database in chunks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from statistics import fmean
from typing import Any

import numpy as np
from sqlalchemy import Text, case, cast, func
from sqlmodel import Session, select

from annotator.errors import NotFound
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS
from annotator.models import AnnotationState, Article, Origin, Span, Status, User
from annotator.services.evaluate import CasualtyAttributes, Evaluation, SchemeScore, score
from annotator.services.origins import preannotator_spans
from annotator.services.visibility import visible_article_id

CHUNK_SIZE = 500
# The nervaluate scheme behind each of our two names.
SCHEMES = {"strict": "strict", "lenient": "ent_type"}
# How many of the least agreed articles the text report names.
LOWEST_SHOWN = 10

Spans = Sequence[Mapping[str, Any]]


def pair_key(first: str, second: str) -> str:
    """Return the JSON key of a pair of annotators: both names in sorted order, joined by ``|``."""
    return "|".join(sorted((first, second)))


# --- scores ------------------------------------------------------------------------------


def _f1(score_: SchemeScore) -> float:
    """Return the F1 of ``score_``, 1.0 when neither side has a span: two empty versions agree."""
    if score_.possible == 0 and score_.actual == 0:
        return 1.0
    return float(score_.f1)


def _score_dict(score_: SchemeScore, *, compared: bool) -> dict[str, Any]:
    """Return precision, recall, F1 and the counts; the scores None when nothing was compared."""
    found = score_.to_dict()
    # SchemeScore gives an int 0 where it divides by nothing; JSON readers get floats throughout.
    found.update(precision=float(found["precision"]), recall=float(found["recall"]), f1=float(found["f1"]))
    if not compared:
        found.update(precision=None, recall=None, f1=None)
    elif score_.possible == 0 and score_.actual == 0:
        found.update(precision=1.0, recall=1.0, f1=1.0)
    return found


def _counts(score_: SchemeScore) -> tuple[int, int, int, int, int]:
    return score_.correct, score_.incorrect, score_.partial, score_.missed, score_.spurious


def _add_evaluation(total: Evaluation, part: Evaluation) -> None:
    """Add the counts of ``part`` to ``total`` (same labels)."""
    total.documents += part.documents
    for scheme, scheme_score in part.micro.items():
        total.micro[scheme].add(_counts(scheme_score))
    for label, schemes in part.per_label.items():
        for scheme, scheme_score in schemes.items():
            total.per_label[label][scheme].add(_counts(scheme_score))
    _add_attributes(total.casualty_attrs, part.casualty_attrs)


def _add_attributes(total: CasualtyAttributes, part: CasualtyAttributes) -> None:
    total.matched += part.matched
    for name, correct in part.correct.items():
        total.correct[name] += correct
    total.count_pairs += part.count_pairs
    total.count_error += part.count_error


def _attributes_dict(attrs: CasualtyAttributes) -> dict[str, Any]:
    """Return the matched CASUALTY pairs and, per attribute, the share of them that agree on it."""
    return {"matched": attrs.matched, **{name: attrs.accuracy(name) for name in CASUALTY_ATTRIBUTES}}


def cohen_kappa(confusion: np.ndarray) -> float | None:
    """Return Cohen's kappa of a square confusion matrix of counts, or None where it is undefined.

    The formula of scikit-learn's ``cohen_kappa_score`` (unweighted):
    ``1 - N * disagreements / (N² - Σ rows·columns)``, in exact integers up
    to the last division. Undefined without units, or when both sides use one
    and the same category only.
    """
    total = int(confusion.sum())
    rows, columns = confusion.sum(axis=1), confusion.sum(axis=0)
    chance = total * total - int(rows @ columns)
    if total == 0 or chance == 0:
        return None
    return 1 - total * (total - int(np.trace(confusion))) / chance


def _alpha(disagreement: float, values: np.ndarray) -> float | None:
    """Return nominal Krippendorff's alpha from its sums, or None where it is undefined.

    ``disagreement`` is Σ over pairable units of (pairs of values that differ)
    / (values in the unit - 1), ``values`` the pairable values per category:
    alpha = 1 - (n - 1) · disagreement / (n² - Σ n_c²), as in ``krippendorff.alpha``.
    """
    total = int(values.sum())
    chance = total * total - int(values @ values)
    if total == 0 or chance == 0:
        return None
    return 1 - (total - 1) * disagreement / chance


@dataclass
class TokenCounts:
    """The sums behind Krippendorff's alpha: overall and, label against the rest, per label.

    Per number of values in a unit (2, 3, ...), the pairs of values in those
    units that differ, kept as integers so that the sums do not depend on the
    order of the chunks; and the pairable values per category (``O`` first).
    """

    categories: int
    units: int = 0
    pairable_units: int = 0
    differing: dict[int, int] = field(default_factory=dict)
    label_differing: dict[int, dict[int, int]] = field(default_factory=dict)
    values: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.values = np.zeros(self.categories, dtype=np.int64)

    def add(self, codes: np.ndarray) -> None:
        """Add units: ``codes`` is annotators × units, -1 where an annotator gave no value."""
        if codes.size == 0:
            return
        per_category = np.stack([(codes == category).sum(axis=0) for category in range(self.categories)])
        per_unit = per_category.sum(axis=0)
        self.units += codes.shape[1]
        pairable = per_unit >= 2
        self.pairable_units += int(pairable.sum())
        self.values += per_category[:, pairable].sum(axis=1)
        for size in np.unique(per_unit[pairable]).tolist():
            chosen = per_category[:, per_unit == size]
            # Ordered pairs of differing values: m² minus the pairs of equal ones.
            self.differing[size] = self.differing.get(size, 0) + int(
                size * size * chosen.shape[1] - (chosen * chosen).sum()
            )
            for category in range(1, self.categories):
                inside = chosen[category]
                pairs = self.label_differing.setdefault(category, {})
                pairs[size] = pairs.get(size, 0) + int(2 * (inside * (size - inside)).sum())

    def alpha(self) -> float | None:
        """Return nominal alpha across all categories."""
        return _alpha(_weighted(self.differing), self.values)

    def label_alpha(self, category: int) -> float | None:
        """Return nominal alpha of one label against all else (``O`` and the other labels)."""
        inside = int(self.values[category])
        binary = np.array([int(self.values.sum()) - inside, inside], dtype=np.int64)
        return _alpha(_weighted(self.label_differing.get(category, {})), binary)


def _weighted(differing: Mapping[int, int]) -> float:
    return sum(pairs / (size - 1) for size, pairs in sorted(differing.items()))


# --- the result ----------------------------------------------------------------------------


@dataclass
class PairAgreement:
    """Two annotators over the articles both accepted: span scores (``first`` as gold) and token kappa."""

    first: str
    second: str
    evaluation: Evaluation
    confusion: np.ndarray
    articles: int = 0

    @property
    def key(self) -> str:
        return f"{self.first}|{self.second}"

    @property
    def tokens(self) -> int:
        return int(self.confusion.sum())

    def scheme(self, name: str) -> SchemeScore:
        """Return the micro score of ``strict`` or ``lenient``."""
        return self.evaluation.micro[SCHEMES[name]]

    def f1(self, name: str, label: str | None = None) -> float | None:
        """Return the micro (or one label's) F1 of ``strict`` or ``lenient``; None without articles."""
        if not self.articles:
            return None
        scores = self.evaluation.micro if label is None else self.evaluation.per_label[label]
        return _f1(scores[SCHEMES[name]])

    @property
    def cohen_kappa(self) -> float | None:
        return cohen_kappa(self.confusion)

    def to_dict(self) -> dict[str, Any]:
        compared = self.articles > 0
        found: dict[str, Any] = {"articles": self.articles}
        for name, scheme in SCHEMES.items():
            found[name] = {
                "micro": _score_dict(self.evaluation.micro[scheme], compared=compared),
                "per_label": {
                    label: _score_dict(schemes[scheme], compared=compared)
                    for label, schemes in self.evaluation.per_label.items()
                },
            }
        found["cohen_kappa"] = self.cohen_kappa
        found["tokens"] = self.tokens
        found["casualty_attrs"] = _attributes_dict(self.evaluation.casualty_attrs)
        return found


@dataclass
class ArticleAgreement:
    """One compared article: who accepted it and their mean pairwise F1 on it."""

    id: Any
    annotators: tuple[str, ...]
    strict_f1: float
    lenient_f1: float
    # The database row's id, for links; None when computed from plain values.
    article_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "article_id": self.article_id,
            "annotators": list(self.annotators),
            "strict_f1": self.strict_f1,
            "lenient_f1": self.lenient_f1,
        }


@dataclass
class ModelAgreement:
    """One annotator's accepted versions (the gold side) against the pre-annotator's spans."""

    evaluation: Evaluation
    articles: int = 0

    @property
    def f1(self) -> float | None:
        return _f1(self.evaluation.micro["strict"]) if self.articles else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            **_score_dict(self.evaluation.micro["strict"], compared=self.articles > 0),
        }


@dataclass
class Agreement:
    """Agreement among annotators over the articles two or more of them accepted.

    Built by ``add`` one chunk of articles at a time; every figure derives
    from counts, so chunks may be of any size.
    """

    labels: tuple[str, ...]
    annotators: tuple[str, ...]
    articles: int = 0
    pairs: dict[tuple[str, str], PairAgreement] = field(default_factory=dict)
    per_article: list[ArticleAgreement] = field(default_factory=list)
    vs_model: dict[str, ModelAgreement] = field(default_factory=dict)
    tokens: TokenCounts = field(init=False)

    def __post_init__(self) -> None:
        unknown = [label for label in self.labels if label not in LABELS]
        if unknown or not self.labels:
            raise ValueError(f"labels must be among {', '.join(LABELS)}, not {', '.join(unknown) or 'none'}")
        self.annotators = tuple(sorted(set(self.annotators)))
        categories = len(self.labels) + 1
        self.tokens = TokenCounts(categories)
        for first, second in combinations(self.annotators, 2):
            self.pairs.setdefault(
                (first, second),
                PairAgreement(
                    first, second, Evaluation(self.labels), np.zeros((categories, categories), dtype=np.int64)
                ),
            )
        for name in self.annotators:
            self.vs_model.setdefault(name, ModelAgreement(Evaluation(self.labels)))

    # --- building

    def add(
        self,
        versions: Mapping[Any, Mapping[str, Spans]],
        texts: Mapping[Any, str],
        *,
        model: Mapping[Any, Spans] | None = None,
        article_ids: Mapping[Any, int] | None = None,
    ) -> None:
        """Add a chunk of articles: id -> annotator -> accepted spans, their texts, the model's spans.

        Only this agreement's annotators count; an article that fewer than two
        of them accepted is left out. ``model`` holds the pre-annotated
        articles (an article missing from it was not pre-annotated);
        ``article_ids`` the articles' database ids, kept for links.
        """
        chosen = set(self.annotators)
        compared = {}
        for article, by_annotator in versions.items():
            kept = {name: spans for name, spans in by_annotator.items() if name in chosen}
            if len(kept) >= 2:
                compared[article] = kept
        if not compared:
            return
        self.articles += len(compared)
        self._add_spans(compared, model or {}, article_ids or {})
        self._add_tokens(compared, texts)

    def _add_spans(
        self,
        compared: dict[Any, dict[str, Spans]],
        model: Mapping[Any, Spans],
        article_ids: Mapping[Any, int],
    ) -> None:
        for article, by_annotator in compared.items():
            names = sorted(by_annotator)
            strict, lenient = [], []
            for first, second in combinations(names, 2):
                pair = self.pairs[(first, second)]
                scored = score([(by_annotator[first], by_annotator[second])], labels=self.labels)
                _add_evaluation(pair.evaluation, scored)
                pair.articles += 1
                strict.append(_f1(scored.micro["strict"]))
                lenient.append(_f1(scored.micro["ent_type"]))
            self.per_article.append(
                ArticleAgreement(
                    article, tuple(names), fmean(strict), fmean(lenient), article_ids.get(article)
                )
            )
        for name, against in self.vs_model.items():
            documents = [
                (by_annotator[name], model[article])
                for article, by_annotator in compared.items()
                if name in by_annotator and article in model
            ]
            if documents:
                _add_evaluation(against.evaluation, score(documents, labels=self.labels))
                against.articles += len(documents)

    def _add_tokens(self, compared: dict[Any, dict[str, Spans]], texts: Mapping[Any, str]) -> None:
        codes = token_codes(compared, texts, annotators=self.annotators, labels=self.labels)
        categories = len(self.labels) + 1
        for (first, second), pair in self.pairs.items():
            one, other = codes[self.annotators.index(first)], codes[self.annotators.index(second)]
            both = (one >= 0) & (other >= 0)
            pair.confusion += np.bincount(
                one[both].astype(np.int64) * categories + other[both], minlength=categories * categories
            ).reshape(categories, categories)
        self.tokens.add(codes)

    # --- figures

    def mean_pairwise_f1(self, name: str, label: str | None = None) -> float | None:
        """Return the mean over pairs that share an article of their ``strict`` or ``lenient`` F1."""
        found = [pair.f1(name, label) for pair in self.pairs.values() if pair.articles]
        return fmean(found) if found else None

    @property
    def mean_cohen_kappa(self) -> float | None:
        found = [pair.cohen_kappa for pair in self.pairs.values()]
        found = [kappa for kappa in found if kappa is not None]
        return fmean(found) if found else None

    @property
    def krippendorff_alpha(self) -> float | None:
        return self.tokens.alpha()

    def label_alpha(self, label: str) -> float | None:
        """Return alpha of ``label`` against every other category."""
        return self.tokens.label_alpha(self.labels.index(label) + 1)

    @property
    def casualty_attrs(self) -> CasualtyAttributes:
        """Return the attribute agreement of strictly matched CASUALTY pairs, over all pairs of annotators."""
        total = CasualtyAttributes()
        for pair in self.pairs.values():
            _add_attributes(total, pair.evaluation.casualty_attrs)
        return total

    def lowest(self, count: int = LOWEST_SHOWN) -> list[ArticleAgreement]:
        """Return the ``count`` articles with the lowest mean pairwise strict F1."""
        return sorted(self.per_article, key=lambda article: article.strict_f1)[:count]

    def to_dict(self) -> dict[str, Any]:
        """Return every figure as plain JSON-ready values (what ``annotator agreement --json`` prints)."""
        return {
            "articles": self.articles,
            "annotators": list(self.annotators),
            "labels": list(self.labels),
            "pairwise": {pair.key: pair.to_dict() for pair in self.pairs.values()},
            "overall": {
                "mean_pairwise_f1": {name: self.mean_pairwise_f1(name) for name in SCHEMES},
                "krippendorff_alpha": self.krippendorff_alpha,
                "mean_cohen_kappa": self.mean_cohen_kappa,
                "tokens": self.tokens.units,
                "pairable_tokens": self.tokens.pairable_units,
                "per_label": {
                    label: {
                        "mean_pairwise_f1": {name: self.mean_pairwise_f1(name, label) for name in SCHEMES},
                        "krippendorff_alpha": self.label_alpha(label),
                    }
                    for label in self.labels
                },
            },
            "casualty_attrs": _attributes_dict(self.casualty_attrs),
            "per_article": [article.to_dict() for article in self.per_article],
            "vs_model": {name: against.f1 for name, against in self.vs_model.items()},
            "vs_model_scores": {name: against.to_dict() for name, against in self.vs_model.items()},
        }

    def table(self) -> str:
        """Return the figures as a plain-text report."""
        if not self.articles:
            among = f" among {', '.join(self.annotators)}" if self.annotators else ""
            return f"No article was accepted by two or more annotators{among}: there is nothing to compare."
        lines = [
            f"Agreement over {_plural(self.articles, 'article')} that two or more of "
            f"{_plural(len(self.annotators), 'annotator')} accepted; labels {', '.join(self.labels)}.",
        ]
        for name, what in (
            ("strict", "same start, end and label"),
            ("lenient", "overlapping, same label"),
        ):
            lines += ["", f"Span F1, {name} ({what}):"]
            lines += self._matrix(lambda pair, name=name: pair.f1(name))
            lines.append(f"mean over pairs: {_shown(self.mean_pairwise_f1(name))}")
        width = max(len(pair.key) for pair in self.pairs.values())
        lines += ["", f"{'pair':<{width}} {'articles':>8} {'tokens':>9} {'kappa':>6}"]
        for pair in self.pairs.values():
            lines.append(
                f"{pair.key:<{width}} {pair.articles:>8} {pair.tokens:>9,} {_shown(pair.cohen_kappa):>6}"
            )
        lines += [
            f"mean Cohen's kappa over pairs: {_shown(self.mean_cohen_kappa)}",
            "",
            f"Krippendorff's alpha (nominal) on the {self.tokens.pairable_units:,} tokens "
            f"two or more annotators labelled: {_shown(self.krippendorff_alpha)}",
            "",
            "Per label: mean pairwise F1, and alpha of the label against all else:",
            f"{'label':<10} {'strict':>7} {'lenient':>7} {'alpha':>6}",
        ]
        for label in self.labels:
            lines.append(
                f"{label:<10} {_shown(self.mean_pairwise_f1('strict', label)):>7} "
                f"{_shown(self.mean_pairwise_f1('lenient', label)):>7} {_shown(self.label_alpha(label)):>6}"
            )
        if CASUALTY in self.labels:
            attrs = self.casualty_attrs
            shares = ", ".join(f"{name} {_shown(attrs.accuracy(name))}" for name in CASUALTY_ATTRIBUTES)
            lines += [
                "",
                f"CASUALTY attributes that agree, on {_plural(attrs.matched, 'strict match', 'strict matches')}: {shares}",
            ]
        lines += ["", "Against the pre-annotator (strict F1, the annotator as gold):"]
        width = max(len(name) for name in self.annotators)
        for name, against in self.vs_model.items():
            lines.append(
                f"  {name:<{width}} {_shown(against.f1):>5} on {_plural(against.articles, 'article')}"
            )
        lines += [
            "",
            f"The {min(LOWEST_SHOWN, len(self.per_article))} least agreed articles (mean strict F1):",
        ]
        width = max(len(str(article.id)) for article in self.per_article)
        for article in self.lowest():
            lines.append(
                f"  {article.id!s:<{width}} {article.strict_f1:.3f}  {', '.join(article.annotators)}"
            )
        return "\n".join(lines)

    def _matrix(self, value: Callable[[PairAgreement], float | None]) -> list[str]:
        """Return an annotator × annotator table of ``value(pair)``, blank on the diagonal."""
        width = max(6, *(len(name) for name in self.annotators))
        lines = [" " * width + "".join(f" {name:>{width}}" for name in self.annotators)]
        for row in self.annotators:
            cells = []
            for column in self.annotators:
                if row == column:
                    cells.append("-")
                else:
                    pair = self.pairs[tuple(sorted((row, column)))]
                    cells.append(_shown(value(pair)) if pair.articles else "n/a")
            lines.append(f"{row:<{width}}" + "".join(f" {cell:>{width}}" for cell in cells))
        return lines


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


# --- tokens ------------------------------------------------------------------------------


def token_starts(texts: Iterable[str]) -> list[np.ndarray]:
    """Return per text the offsets of its non-whitespace tokens (spaCy's English tokenizer)."""
    from spacy.attrs import IDX, IS_SPACE

    from annotator.nlp.tokens import _tokenizer

    found = []
    for doc in _tokenizer().pipe(texts, batch_size=256):
        columns = doc.to_array([IDX, IS_SPACE]).reshape(-1, 2)
        found.append(columns[columns[:, 1] == 0, 0].astype(np.int64))
    return found


def token_codes(
    versions: Mapping[Any, Mapping[str, Spans]],
    texts: Mapping[Any, str],
    *,
    annotators: Sequence[str],
    labels: Sequence[str],
) -> np.ndarray:
    """Return annotators × tokens of all ``versions``' articles: 0 for O, 1 + the label's index, -1 missing.

    A token takes the label of the span covering its first character. The
    spans of one version never overlap when stored; where they do here, the
    covering span that starts last wins.
    """
    article_ids = list(versions)
    starts = token_starts(texts[article_id] for article_id in article_ids)
    # All articles on one line of offsets, each after the last, so one search serves them all.
    lengths = np.array([len(texts[article_id]) + 1 for article_id in article_ids], dtype=np.int64)
    bases = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    counts = np.array([len(found) for found in starts], dtype=np.int64)
    positions = np.concatenate(starts) + np.repeat(bases, counts) if starts else np.zeros(0, dtype=np.int64)
    article_of = np.repeat(np.arange(len(article_ids)), counts)
    code_of = {label: index + 1 for index, label in enumerate(labels)}
    codes = np.full((len(annotators), len(positions)), -1, dtype=np.int8)
    for row, name in enumerate(annotators):
        accepted = np.array([name in versions[article_id] for article_id in article_ids], dtype=bool)
        span_starts, span_ends, span_codes = [], [], []
        for index, article_id in enumerate(article_ids):
            spans = versions[article_id].get(name)
            if not spans:
                continue
            base = int(bases[index])
            for span in spans:
                code = code_of.get(span["label"])
                if code is not None:
                    span_starts.append(base + span["start"])
                    span_ends.append(base + span["end"])
                    span_codes.append(code)
        labelled = _cover(
            positions,
            np.array(span_starts, dtype=np.int64),
            np.array(span_ends, dtype=np.int64),
            np.array(span_codes, dtype=np.int8),
        )
        codes[row] = np.where(accepted[article_of], labelled, -1)
    return codes


def _cover(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Return per position the code of the span covering it that starts last, or 0."""
    found = np.zeros(len(positions), dtype=np.int8)
    if not len(starts):
        return found
    order = np.lexsort((ends, starts))
    starts, ends, codes = starts[order], ends[order], codes[order]
    if np.any(starts[1:] < np.maximum.accumulate(ends)[:-1]):
        # Overlapping spans: paint them in order, so a later start overwrites an earlier one.
        for start, end, code in zip(starts.tolist(), ends.tolist(), codes.tolist(), strict=True):
            found[np.searchsorted(positions, start) : np.searchsorted(positions, end)] = code
        return found
    # Spans apart: the only span that can cover a position is the last one starting at or before it.
    index = np.searchsorted(starts, positions, side="right") - 1
    inside = index >= 0
    clipped = np.maximum(index, 0)
    inside &= positions < ends[clipped]
    return np.where(inside, codes[clipped], 0).astype(np.int8)


# --- the pure core and the database ----------------------------------------------------------


def compute(
    versions: Mapping[Any, Mapping[str, Spans]],
    texts: Mapping[Any, str],
    *,
    labels: Iterable[str] = LABELS,
    model: Mapping[Any, Spans] | None = None,
    annotators: Iterable[str] | None = None,
) -> Agreement:
    """Return the agreement of the accepted ``versions``: article id -> annotator -> spans.

    ``texts`` holds each article's text, ``model`` the pre-annotator's spans
    of the articles it saw. ``annotators`` limits the comparison to those
    (default: everyone with a version of an article someone else has too).
    Spans are gold-format dicts; labels outside ``labels`` count as ``O``.
    """
    if annotators is None:
        annotators = {
            name for by_annotator in versions.values() if len(by_annotator) >= 2 for name in by_annotator
        }
    result = Agreement(tuple(labels), tuple(annotators))
    result.add(versions, texts, model=model)
    return result


def agreement(
    session: Session,
    *,
    annotators: Iterable[str] | None = None,
    labels: Iterable[str] = LABELS,
    chunk_size: int = CHUNK_SIZE,
) -> Agreement:
    """Return the agreement of the annotators' accepted versions in the database.

    ``annotators`` names the users to compare (default: everyone who accepted
    an article that someone else accepted too); an unknown name raises
    NotFound. Reads ``chunk_size`` articles per round in a fixed number of
    queries, never one per article or per span.
    """
    labels = tuple(labels)
    names_of = _users(session, annotators)
    accepted_by = (
        AnnotationState.status == Status.ACCEPTED.value,
        visible_article_id(AnnotationState.article_id),
        *([AnnotationState.user_id.in_(list(names_of))] if annotators is not None else []),
    )
    shared = (
        select(AnnotationState.article_id)
        .where(*accepted_by)
        .group_by(AnnotationState.article_id)
        .having(func.count() >= 2)
    )
    article_ids = session.exec(shared.order_by(AnnotationState.article_id)).all()
    if annotators is None:
        # Only those who share an accepted article with someone take part.
        taking_part = session.exec(
            select(AnnotationState.user_id)
            .distinct()
            .where(*accepted_by, AnnotationState.article_id.in_(shared.scalar_subquery()))
        ).all()
        names_of = {user_id: names_of[user_id] for user_id in taking_part}
    result = Agreement(labels, tuple(names_of.values()))
    for index in range(0, len(article_ids), chunk_size):
        chunk = list(article_ids[index : index + chunk_size])
        versions, texts, model, row_ids = _read_chunk(session, chunk, accepted_by, names_of, labels)
        result.add(versions, texts, model=model, article_ids=row_ids)
    return result


def _users(session: Session, names: Iterable[str] | None) -> dict[int, str]:
    """Return user id -> name of the named users (every user when None); NotFound names the unknown ones."""
    query = select(User.id, User.username)
    if names is None:
        return dict(session.exec(query).all())
    names = {name.strip() for name in names}
    found = dict(session.exec(query.where(User.username.in_(names))).all())
    unknown = sorted(names - set(found.values()))
    if unknown:
        raise NotFound(f"no user named {', '.join(map(repr, unknown))}")
    return found


def _read_chunk(
    session: Session,
    article_ids: list[int],
    accepted_by: tuple,
    names_of: dict[int, str],
    labels: tuple[str, ...],
) -> tuple[dict[str, dict[str, list]], dict[str, str], dict[str, list], dict[str, int]]:
    """Return the accepted versions, texts, model spans and row ids of one chunk, keyed by external id."""
    articles = session.exec(
        select(Article.id, Article.external_id, Article.text, Article.preannotated_with)
        .where(Article.id.in_(article_ids))
        .order_by(Article.id)
    ).all()
    external = {article_id: external_id for article_id, external_id, _, _ in articles}
    texts = {external_id: text for _, external_id, text, _ in articles}
    states = session.exec(
        select(AnnotationState.article_id, AnnotationState.user_id).where(
            *accepted_by, AnnotationState.article_id.in_(article_ids)
        )
    ).all()
    accepted = {(article_id, user_id) for article_id, user_id in states if user_id in names_of}
    versions: dict[str, dict[str, list]] = defaultdict(dict)
    # Articles in id order, so versions and token rows come out the same way on every database.
    for article_id, user_id in sorted(accepted):
        versions[external[article_id]][names_of[user_id]] = []
    # Core rows rather than ORM ones, and attributes only where they count (CASUALTY), decoded
    # here: per span, decoding "{}" took longer than the rest of reading it.
    connection = session.connection()
    rows = connection.execute(
        select(
            Span.article_id,
            Span.owner_id,
            Span.start,
            Span.end,
            Span.label,
            case((Span.label == CASUALTY, cast(Span.attrs, Text)), else_=None),
        )
        .where(
            Span.article_id.in_(article_ids),
            Span.origin == Origin.ANNOTATOR.value,
            Span.owner_id.in_({user_id for _, user_id in accepted}),
            Span.label.in_(labels),
        )
        .order_by(Span.article_id, Span.owner_id, Span.start, Span.end)
    ).all()
    for article_id, owner_id, start, end, label, attrs in rows:
        # The query reads every chosen user's spans in the chunk; keep the accepted versions.
        if (article_id, owner_id) in accepted:
            versions[external[article_id]][names_of[owner_id]].append(
                {"start": start, "end": end, "label": label, "attrs": json.loads(attrs) if attrs else {}}
            )
    model: dict[str, list] = {}
    preannotated = [article_id for article_id, _, _, with_ in articles if with_ is not None]
    if preannotated:
        for article_id in preannotated:
            model[external[article_id]] = []
        # Without attributes: the model is compared on spans alone.
        rows = connection.execute(
            select(Span.article_id, Span.start, Span.end, Span.label)
            .where(
                Span.article_id.in_(preannotated),
                Span.origin == Origin.MODEL.value,
                # The pre-annotator, which working copies start from; not predictions pushed since.
                preannotator_spans(Span.source),
                Span.label.in_(labels),
            )
            .order_by(Span.article_id, Span.start, Span.end)
        ).all()
        for article_id, start, end, label in rows:
            model[external[article_id]].append({"start": start, "end": end, "label": label})
    return versions, texts, model, {external_id: article_id for article_id, external_id in external.items()}
