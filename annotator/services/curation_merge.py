"""How several versions of an article become a draft gold and a list of candidates (no database).

Every distinct span of the versions (same start, end, label and attributes) is
a *proposal*, with the annotators who have it. The merge strategy decides
which proposals start in the draft:

- ``unanimous``: those every version has;
- ``majority``: those more than half of the versions have.

Neither puts two overlapping spans in the draft: a version's spans never
overlap, and two proposals that each have more than half of the versions
share a version. Every proposal not in the draft is a *candidate* for the
reviewer, of one or more kinds, by what the versions without it have there:

- ``label``: a span over the same characters with another label, or over
  overlapping characters with another label;
- ``boundary``: a span with the same label over overlapping but different
  characters;
- ``attributes``: the same span with other attributes (CASUALTY);
- ``missing``: nothing overlapping it.

A candidate is *open* until the reviewer accepts or rejects it, or the
draft holds exactly that span anyway, or a draft span the reviewer made or
changed overlaps it (their edit settled what goes there).
"""

from __future__ import annotations

import functools
import hashlib
import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("unanimous", "majority")
# Kinds of candidate, the most telling first: a candidate's ``kind`` is the first of its kinds.
KINDS = ("label", "boundary", "attributes", "missing")
ACCEPTED, REJECTED = "accepted", "rejected"


def span_key(start: int, end: int, label: str, attrs: Mapping[str, Any] | None) -> str:
    """Return a short, stable name for a span: its offsets, label, and a digest of its attributes."""
    key = f"{start}-{end}-{label}"
    if attrs:
        try:
            digest = _digest(tuple(sorted(attrs.items())))
        except TypeError:  # a value that is a list or a dict: not worth caching
            digest = _digest.__wrapped__(tuple(sorted(attrs.items())))
        key += "-" + digest
    return key


@functools.lru_cache(maxsize=4096)
def _digest(items: tuple[tuple[str, Any], ...]) -> str:
    # Few attribute sets recur across a corpus (counts, outcomes, groups): cached, not re-hashed per span.
    canonical = json.dumps(dict(items), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2s(canonical.encode(), digest_size=5).hexdigest()


@dataclass(frozen=True)
class Proposal:
    """A distinct span of the versions and the annotators (sorted) who have it exactly."""

    key: str
    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    annotators: tuple[str, ...]

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def is_open(decision: str | None, in_draft: bool, settled: bool) -> bool:
    """Return whether a candidate still waits for the reviewer (see the module's docstring)."""
    return decision is None and not in_draft and not settled


@dataclass(frozen=True)
class Candidate:
    proposal: Proposal
    kinds: tuple[str, ...]
    decision: str | None  # accepted, rejected or None
    in_draft: bool
    # It overlaps a draft span the reviewer made or changed: their edit settled the question.
    settled: bool = False

    @property
    def kind(self) -> str:
        return self.kinds[0]

    @property
    def open(self) -> bool:
        return is_open(self.decision, self.in_draft, self.settled)

    def __getattr__(self, name: str) -> Any:  # key, start, end, label, attrs, annotators
        return getattr(self.proposal, name)


def _key_of(span: Mapping[str, Any]) -> str:
    # Spans read for a comparison carry their key already (see ``Comparison``).
    return span.get("key") or span_key(span["start"], span["end"], span["label"], span.get("attrs"))


def proposals(versions: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[Proposal]:
    """Return every distinct span of the versions (keyed by annotator), in text order."""
    found: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
    for annotator in sorted(versions):
        for span in versions[annotator]:
            key = _key_of(span)
            entry = found.setdefault(key, (span, []))
            if annotator not in entry[1]:
                entry[1].append(annotator)
    result = [
        Proposal(key, span["start"], span["end"], span["label"], dict(span.get("attrs") or {}), tuple(who))
        for key, (span, who) in found.items()
    ]
    result.sort(key=lambda p: (p.start, p.end, p.label, p.key))
    return result


def needed(strategy: str, versions: int) -> int:
    """Return how many versions must have a span for the strategy to put it in the draft."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown merge strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    return versions if strategy == "unanimous" else versions // 2 + 1


def merge(versions: Mapping[str, Iterable[Mapping[str, Any]]], strategy: str) -> list[Proposal]:
    """Return the proposals the strategy puts in the draft, in text order; they never overlap."""
    needed(strategy, 1)  # an unknown strategy is refused even without versions
    return Comparison(versions).merge(strategy)


def _overlapping(spans: Sequence[Mapping[str, Any]], starts: Sequence[int], start: int, end: int):
    """Return the spans (sorted, not overlapping each other) that overlap [start, end): a few steps back from a bisect."""
    index = bisect_left(starts, end)
    found = []
    while index > 0 and spans[index - 1]["end"] > start:
        index -= 1
        found.append(spans[index])
    return found


def _by_start(versions: Mapping[str, Iterable[Mapping[str, Any]]]):
    """Return each version's spans sorted by start, with the list of starts to bisect."""
    indexed = {}
    for annotator, spans in versions.items():
        ordered = sorted(spans, key=lambda span: (span["start"], span["end"]))
        indexed[annotator] = (ordered, [span["start"] for span in ordered])
    return indexed


def kinds_of(proposal: Proposal, versions: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[str, ...]:
    """Return how the versions without the proposal differ from it there (see the module's docstring)."""
    return _kinds(proposal, _by_start(versions))


def _kinds(proposal: Proposal, indexed) -> tuple[str, ...]:
    found = set()
    for annotator, (spans, starts) in indexed.items():
        if annotator in proposal.annotators:
            continue
        near = _overlapping(spans, starts, proposal.start, proposal.end)
        if not near:
            found.add("missing")
        for span in near:
            same_place = (span["start"], span["end"]) == (proposal.start, proposal.end)
            if span["label"] != proposal.label:
                found.add("label")
            elif not same_place:
                found.add("boundary")
            else:
                found.add("attributes")
    if not found:  # every version has it, yet it is not in the draft (the reviewer took it out)
        found.add("missing")
    return tuple(kind for kind in KINDS if kind in found)


class Comparison:
    """The versions of one article compared once: their proposals, and how each differs from the rest.

    Neither depends on the draft, so one comparison answers the merge and
    every question about candidates in a request.
    """

    def __init__(self, versions: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        self.versions = {name: list(spans) for name, spans in versions.items()}
        self.proposals = proposals(self.versions)
        self.by_key = {proposal.key: proposal for proposal in self.proposals}
        indexed = _by_start(self.versions)
        self.kinds = {proposal.key: _kinds(proposal, indexed) for proposal in self.proposals}
        self._starts = [proposal.start for proposal in self.proposals]
        self._longest = max((p.end - p.start for p in self.proposals), default=0)

    def merge(self, strategy: str) -> list[Proposal]:
        """Return the proposals the strategy puts in the draft, in text order; they never overlap."""
        if not self.versions:
            return []
        threshold = needed(strategy, len(self.versions))
        merged: list[Proposal] = []
        for proposal in self.proposals:
            if len(proposal.annotators) < threshold:
                continue
            # Versions read from elsewhere (an import) might overlap; the first span keeps its place.
            if merged and merged[-1].end > proposal.start:
                continue
            merged.append(proposal)
        return merged

    def overlapping(self, start: int, end: int) -> list[Proposal]:
        """Return the proposals that overlap [start, end) (proposals may overlap each other)."""
        first = bisect_left(self._starts, start - self._longest)
        last = bisect_left(self._starts, end)
        return [p for p in self.proposals[first:last] if p.end > start]

    def candidates(self, draft: Iterable[Mapping[str, Any]], decisions: Mapping[str, str]) -> list[Candidate]:
        """Return every proposal that is not in the draft, or that the reviewer answered, in text order.

        A draft span with a true ``changed`` settles the proposals it overlaps.
        """
        draft = list(draft)
        in_draft = {_key_of(span) for span in draft}
        edited = sorted((span for span in draft if span.get("changed")), key=lambda span: span["start"])
        edited_starts = [span["start"] for span in edited]
        result = []
        for proposal in self.proposals:
            decision = decisions.get(proposal.key)
            present = proposal.key in in_draft
            if present and decision is None:
                continue  # agreed, or put there by the merge: not a question for the reviewer
            settled = bool(_overlapping(edited, edited_starts, proposal.start, proposal.end))
            result.append(Candidate(proposal, self.kinds[proposal.key], decision, present, settled))
        return result


def candidates(
    versions: Mapping[str, Sequence[Mapping[str, Any]]],
    draft: Iterable[Mapping[str, Any]],
    decisions: Mapping[str, str],
) -> list[Candidate]:
    """Return every proposal that is not in the draft, or that the reviewer answered (see ``Comparison``)."""
    return Comparison(versions).candidates(draft, decisions)
