"""The article tally: how many people an article reports killed and wounded, per group.

Researchers code victims per article, not per mention, and adding mentions up
by hand is where their errors are. :func:`tally` applies the rules of
GUIDELINES.md ("Article tally") to an article's CASUALTY spans. Every rule the
code applies is here, in the order the guidelines give them:

Rule 1, incidents. Figures belong to one incident unless the text puts them in
another attack, place or day. A sentence with figures starts a new incident
when it, or a sentence since the last figures, says so:

- a marker: "In another attack in Paktika, two policemen died" after "five
  soldiers were killed" gives 5 + 2;
- another day: "On Tuesday ... four civilians were killed. On Friday ... three
  civilians died" gives 7 (a day something was *said*, "officials said
  Friday", is not a day of events);
- another place it opens with: "In Kaduna, seven villagers were killed" after
  figures in Borno gives both; a place already named in the incident ("In
  Helmand" after "in Helmand province") does not.

  A sentence whose figures all repeat, count for count and group for group,
  figures of an incident is a restatement of it, unless it carries a marker:
  "Five soldiers were killed in Kandahar on Monday. ... On Tuesday the army
  buried the five soldiers killed in Kandahar" is 5, and "A car bomb killed 12
  people. In a separate attack, gunmen killed a soldier. Police said 12 people
  died in the bombing" is 13.

  The headline is apart from the body: it restates the article, so each of its
  figures is compared with the whole body's, never added ("Two insurgents
  killed" over a body reporting "two insurgents" is 2).

Rule 2, within an incident, per group, the largest figure: "at least 35
civilians" and "35 civilians" give 35; "two policemen" twice gives 2.

Rule 3, within an incident, the total is the larger of the largest
``mixed_or_unknown`` figure and the sum of the specific groups: "At least 57
people ... 35 civilians, nine soldiers and 13 policemen" gives 57 (civilian
35, security 22, mixed_or_unknown 0); "Dozens of people, including at least 35
civilians" gives 35.

Rule 4, across incidents, totals and groups add up.

Rule 5, lower bound: when a figure a total rests on is ``at_least``, ``about``
or ``vague``. Figures tied with the one taken are taken too ("at least 35
civilians" and "35 civilians" is at least 35), and a vague figure always makes
its outcome a lower bound, since it says more were hit than any count given.

Rule 6, reported: the outcome has any figure, a vague one included; a vague
figure alone gives total 0, lower bound and reported.

Rule 7, named victims are ACTOR spans and never reach the tally.

Plain Python: the cues come from ``annotator.nlp.cues``, computed once per
article, so a tally after an edit parses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from annotator.labels import CASUALTY, LOCATION, MAX_COUNT
from annotator.nlp.cues import Cues, find_cues
from annotator.nlp.resources import read_toml

OUTCOMES = ("killed", "wounded", "killed_or_wounded")
SPECIFIC_GROUPS = ("civilian", "security", "militant")
MIXED = "mixed_or_unknown"
GROUPS = (*SPECIFIC_GROUPS, MIXED)
# How many sentences before a figure's own may place it in another incident:
# "On Friday, gunmen stormed a village in Kaduna. Residents said seven people died."
CUE_REACH = 2


@dataclass(frozen=True)
class Figure:
    """One CASUALTY span as the tally reads it."""

    span_id: Any
    start: int
    end: int
    count: int | None
    qualifier: str
    outcome: str
    group: str
    sentence: int = 0
    in_headline: bool = False

    @property
    def value(self) -> int:
        return self.count or 0

    @property
    def uncertain(self) -> bool:
        return self.qualifier != "exact" or self.count is None


@dataclass
class OutcomeTally:
    """One outcome's tally: the GUIDELINES.md shape plus the spans it rests on."""

    total: int = 0
    lower_bound: bool = False
    reported: bool = False
    by_group: dict[str, int] = field(default_factory=dict)
    span_ids: list[Any] = field(default_factory=list)
    vague: bool = False  # a vague figure is among them (rule 5)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "lower_bound": self.lower_bound,
            "reported": self.reported,
            "by_group": dict(self.by_group),
        }


@dataclass
class Incident:
    """Figures the tally counts as one attack, and why it began where it did."""

    figures: list[Figure] = field(default_factory=list)
    reason: str = "first"
    days: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)


@dataclass
class ArticleTally:
    """An article's tally: one :class:`OutcomeTally` per outcome, and the incidents it was added up from."""

    outcomes: dict[str, OutcomeTally]
    incidents: list[Incident]
    headline: list[Figure]

    def to_json(self) -> dict[str, Any]:
        """Return the tally in the export's shape: ``{"killed": {"total", "lower_bound", "reported", "by_group"}, ...}``."""
        return {outcome: self.outcomes[outcome].to_json() for outcome in OUTCOMES}

    def __getitem__(self, outcome: str) -> OutcomeTally:
        return self.outcomes[outcome]

    @property
    def span_ids(self) -> list[Any]:
        """Every span id some total rests on, in text order."""
        return list(
            dict.fromkeys(span_id for outcome in OUTCOMES for span_id in self.outcomes[outcome].span_ids)
        )


def figures_of(spans: Iterable[Mapping[str, Any]], cues: Cues) -> list[Figure]:
    """Return the CASUALTY spans with an outcome as figures, in text order, each placed in its sentence."""
    figures = []
    for index, span in enumerate(spans):
        attrs = span.get("attrs") or {}
        if span.get("label") != CASUALTY or attrs.get("outcome") not in OUTCOMES:
            continue
        count = attrs.get("count")
        count = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
        qualifier = attrs.get("qualifier") or ("vague" if count is None else "exact")
        figures.append(
            Figure(
                span_id=span.get("id", index),
                start=span["start"],
                end=span["end"],
                count=count,
                qualifier=qualifier,
                outcome=attrs["outcome"],
                group=attrs.get("group") if attrs.get("group") in GROUPS else MIXED,
                sentence=cues.sentence_of(span["start"]),
                in_headline=span["start"] < cues.headline_end,
            )
        )
    return sorted(figures, key=lambda figure: (figure.start, figure.end))


def _place_known(place: str, places: set[str]) -> bool:
    """Whether ``place`` is one the incident names: "helmand" and "helmand province" are the same."""
    return any(place in known or known in place for known in places)


def _restates(figures: list[Figure], incident: Incident) -> bool:
    """Whether every figure repeats one of ``incident``'s: same outcome, group and count."""
    seen = {(figure.outcome, figure.group, figure.count) for figure in incident.figures if figure.count}
    return bool(figures) and all((figure.outcome, figure.group, figure.count) in seen for figure in figures)


def split_incidents(
    figures: list[Figure], cues: Cues, places: Mapping[int, set[str]] | None = None
) -> list[Incident]:
    """Rule 1: group the body's figures into incidents, by the cues of their sentences and those before them.

    ``places`` maps a sentence index to the LOCATION names it holds, so that an
    opening "In Helmand, ..." is known to be the incident's own place.
    """
    places = places or {}
    by_sentence: dict[int, list[Figure]] = {}
    for figure in figures:
        if not figure.in_headline:
            by_sentence.setdefault(figure.sentence, []).append(figure)
    incidents: list[Incident] = []
    since = 0  # the first sentence not yet read into an incident
    for index in sorted(by_sentence):
        # Cues count from the figures' sentence and the CUE_REACH before it:
        # "last year" in background twenty sentences earlier says nothing of them.
        first = max(since, index - CUE_REACH)
        pending = [
            sentence for sentence in cues.sentences[first : index + 1] if sentence.start >= cues.headline_end
        ]
        marker = next((sentence.marker for sentence in pending if sentence.marker), None)
        days = {day for sentence in pending for day in sentence.days}
        opened = [sentence.place for sentence in pending if sentence.place]
        named = {name for position in range(since, index + 1) for name in places.get(position, ())}
        current = incidents[-1] if incidents else None
        reason = None
        if current is not None:
            if marker:
                reason = f"another incident: “{marker}”"
            elif days and current.days and not days & current.days:
                reason = f"another day: {', '.join(sorted(days))}"
            elif (
                opened and current.places and not any(_place_known(place, current.places) for place in opened)
            ):
                reason = f"another place: {opened[0]}"
        figures_here = by_sentence[index]
        if not marker:
            # Figures that repeat an incident's, count for count, restate it, wherever they stand.
            earlier = next((incident for incident in incidents if _restates(figures_here, incident)), None)
            if earlier is not None:
                current, reason = earlier, None
        if current is None or reason:
            current = Incident(reason=reason or "first")
            incidents.append(current)
        current.figures.extend(figures_here)
        current.days |= days
        current.places |= set(opened) | named
        since = index + 1
    return incidents


def _part_of(figure: Figure, earlier: Figure, text: str | None) -> bool:
    """Whether ``figure`` counts some of ``earlier``'s victims: "12 militants, including three commanders"."""
    if text is None or earlier.count is None or figure.value > earlier.value:
        return False
    between = text[earlier.end : figure.start].lower()
    return any(words in between for words in _part_words())


@cache
def _part_words() -> tuple[str, ...]:
    return tuple(read_toml("tally")["breakdown"]["part_of"])


def _largest(figures: list[Figure], text: str | None) -> tuple[int, list[Figure]]:
    """Rule 2 for one group: the largest figure, and the figures it rests on.

    Figures of one sentence are one statement: "nine soldiers and 13
    policemen" are 22 security, unless one is a part of another. Statements
    restate each other, so the largest is taken; ties are all taken.
    """
    statements: dict[int, tuple[int, list[Figure]]] = {}
    for figure in figures:
        value, members = statements.get(figure.sentence, (0, []))
        if not any(_part_of(figure, member, text) for member in members):
            value += figure.value
        statements[figure.sentence] = (value, [*members, figure])
    largest = max(value for value, _ in statements.values())
    return largest, [
        figure for value, members in statements.values() if value == largest for figure in members
    ]


def _outcome_of(figures: list[Figure], text: str | None = None) -> OutcomeTally:
    """Rules 2, 3, 5 and 6 for one outcome's figures of one incident (or of the headline)."""
    result = OutcomeTally(reported=bool(figures))
    if not figures:
        return result
    used: list[Figure] = []
    largest: dict[str, int] = {}
    mixed_figures: list[Figure] = []
    for group in GROUPS:
        of_group = [figure for figure in figures if figure.group == group]
        if not of_group:
            continue
        largest[group], taken = _largest(of_group, text)
        if group == MIXED:
            mixed_figures = taken
        else:
            used += taken
    specific = sum(largest.get(group, 0) for group in SPECIFIC_GROUPS)
    mixed = largest.get(MIXED)
    result.total = max(specific, mixed or 0)
    if mixed is not None and mixed >= specific:
        used += mixed_figures
    result.by_group = {group: largest[group] for group in SPECIFIC_GROUPS if group in largest}
    if mixed is not None:
        result.by_group[MIXED] = result.total - specific
    result.vague = any(figure.count is None for figure in figures)
    result.lower_bound = result.vague or any(figure.uncertain for figure in used)
    result.span_ids = [figure.span_id for figure in sorted(used, key=lambda figure: figure.start)]
    return result


def _added(parts: list[OutcomeTally]) -> OutcomeTally:
    """Rule 4: incidents add up."""
    result = OutcomeTally()
    for part in parts:
        result.total += part.total
        result.lower_bound |= part.lower_bound
        result.reported |= part.reported
        result.vague |= part.vague
        for group, number in part.by_group.items():
            result.by_group[group] = result.by_group.get(group, 0) + number
        result.span_ids += part.span_ids
    return result


def _with_headline(body: OutcomeTally, headline: OutcomeTally) -> OutcomeTally:
    """The headline restates the body: per group and in total the larger of the two is taken, never the sum."""
    if not headline.reported:
        return body
    if not body.reported:
        return headline
    result = OutcomeTally(reported=True)
    for group in SPECIFIC_GROUPS:
        if group in body.by_group or group in headline.by_group:
            result.by_group[group] = max(body.by_group.get(group, 0), headline.by_group.get(group, 0))
    specific = sum(result.by_group.values())
    result.total = max(body.total, headline.total, specific)
    if MIXED in body.by_group or MIXED in headline.by_group:
        result.by_group[MIXED] = result.total - specific
    sides = [side for side in (body, headline) if side.total == result.total] or [body, headline]
    result.vague = body.vague or headline.vague
    result.lower_bound = result.vague or any(side.lower_bound for side in sides)
    result.span_ids = [span_id for side in sides for span_id in side.span_ids]
    return result


def tally(
    spans: Iterable[Mapping[str, Any]],
    *,
    text: str | None = None,
    cues: Cues | None = None,
) -> ArticleTally:
    """Return the tally of an article's spans (gold-format dicts; ``id`` names a span, else its position).

    Give the article's stored ``cues``, or its ``text`` to read them from (by
    rule, no parse). LOCATION spans tell the incidents' places.
    """
    if cues is None:
        cues = find_cues(text or "")
    spans = list(spans)
    figures = figures_of(spans, cues)
    places: dict[int, set[str]] = {}
    if text is not None:
        for span in spans:
            if span.get("label") == LOCATION:
                places.setdefault(cues.sentence_of(span["start"]), set()).add(
                    text[span["start"] : span["end"]].lower()
                )
    incidents = split_incidents(figures, cues, places)
    headline = [figure for figure in figures if figure.in_headline]
    outcomes = {}
    for outcome in OUTCOMES:
        body = _added(
            [
                _outcome_of([f for f in incident.figures if f.outcome == outcome], text)
                for incident in incidents
            ]
        )
        outcomes[outcome] = _with_headline(
            body, _outcome_of([f for f in headline if f.outcome == outcome], text)
        )
    return ArticleTally(outcomes=outcomes, incidents=incidents, headline=headline)


def tally_errors(value: Any) -> list[str]:
    """Return what is wrong with a tally given as data (an imported ``tally`` field), or an empty list.

    Any subset of the export's shape is accepted: outcomes, and within each
    ``total``, ``lower_bound``, ``reported`` and ``by_group``.
    """
    if not isinstance(value, Mapping):
        return [f"tally must be an object, not {_json_name(value)}"]
    errors = []
    for outcome, part in value.items():
        if outcome not in OUTCOMES:
            errors.append(f"tally: unknown outcome {outcome!r} (expected one of {', '.join(OUTCOMES)})")
            continue
        if not isinstance(part, Mapping):
            errors.append(f"tally.{outcome} must be an object, not {_json_name(part)}")
            continue
        for key, item in part.items():
            where = f"tally.{outcome}.{key}"
            if key == "total":
                if not _is_count(item):
                    errors.append(
                        f"{where} must be a whole number from 0 to {MAX_COUNT:,}, not {_json_value(item)}"
                    )
            elif key in ("lower_bound", "reported"):
                if not isinstance(item, bool):
                    errors.append(f"{where} must be true or false, not {_json_value(item)}")
            elif key == "by_group":
                if not isinstance(item, Mapping):
                    errors.append(f"{where} must be an object, not {_json_name(item)}")
                    continue
                for group, number in item.items():
                    if group not in GROUPS:
                        errors.append(
                            f"{where}: unknown group {group!r} (expected one of {', '.join(GROUPS)})"
                        )
                    elif not _is_count(number):
                        errors.append(
                            f"{where}.{group} must be a whole number from 0 to {MAX_COUNT:,}, not {number!r}"
                        )
            else:
                errors.append(f"{where}: unknown key (expected total, lower_bound, reported, by_group)")
        if not errors:
            errors += _inconsistencies(outcome, part)
    return errors


def _inconsistencies(outcome: str, part: Mapping[str, Any]) -> list[str]:
    """A tally that contradicts itself: groups over the total, a total with nothing reported."""
    errors = []
    groups = sum((part.get("by_group") or {}).values())
    if "total" in part and groups > part["total"]:
        errors.append(f"tally.{outcome}.by_group adds up to {groups}, more than its total {part['total']}")
    if part.get("reported") is False and (part.get("total") or groups or part.get("lower_bound")):
        errors.append(f"tally.{outcome}: reported is false, yet it gives a total, groups or a lower bound")
    return errors


def _json_name(value: Any) -> str:
    """What a JSON value is, in JSON's words: "null", "an array", "a string"."""
    if value is None:
        return "null"
    names = {
        list: "an array",
        dict: "an object",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return names.get(type(value), type(value).__name__)


def _json_value(value: Any) -> str:
    """A value as JSON writes it: null, true, "text"."""
    try:
        return json.dumps(value, ensure_ascii=False)[:60]
    except (TypeError, ValueError):
        return _json_name(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def completed(value: Mapping[str, Any]) -> dict[str, Any]:
    """Return a valid partial tally with what it leaves out filled in.

    A gold tally that gives only ``{"killed": {"total": 3}}`` says 3 killed,
    reported (a total above 0 is reported), and says nothing of the groups.
    An outcome it leaves out is taken as not reported, total 0.
    """
    result = {}
    for outcome in OUTCOMES:
        part = value.get(outcome) or {}
        total = part.get("total", sum((part.get("by_group") or {}).values()))
        result[outcome] = {
            "total": total,
            "lower_bound": part.get("lower_bound", False),
            "reported": part.get("reported", total > 0 or part.get("lower_bound", False)),
            "by_group": dict(part.get("by_group") or {}),
        }
    return result
