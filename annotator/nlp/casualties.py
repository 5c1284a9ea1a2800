"""The ``conflict_casualties`` component: figures of people killed or wounded.

For every number expression ("nine", "1,800", "at least 35", "dozens of") it
finds the group the number counts ("civilians", "government troops"), follows
the dependency parse up to the word that says what happened to them
("killed", "dead", "wounded", "lost their lives") and fills the attributes of
GUIDELINES.md. A figure that no harm word governs (troop numbers, fighters
taking part, populations, displaced families) is no casualty. Results go to
``doc.spans[spans_key]`` with ``Span._.attrs`` and ``Span._.source`` set;
``conflict_entities`` turns them into ``doc.ents``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import srsly
from spacy.attrs import DEP, HEAD, LOWER
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import ensure_path

from annotator.labels import CASUALTY
from annotator.nlp import extensions  # noqa: F401  (registers Span._.attrs and Span._.source)
from annotator.nlp.numbers import qualifier_length, read_count
from annotator.nlp.resources import default_casualty_data

SOURCE = "casualty:rules"

# Numbers inside these entities are dates, times, money or measures, not people.
NOT_PEOPLE_ENTS = frozenset({"DATE", "TIME", "MONEY", "PERCENT", "ORDINAL", "QUANTITY"})
# Dependencies along which a counted noun hands its role to the word it hangs
# on: coordinated and apposed figures share one predicate.
LIST_DEPS = frozenset({"conj", "appos"})
ARGUMENT_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "attr", "oprd", "npadvmod", "ROOT"})
COMPLEMENT_DEPS = frozenset({"xcomp", "oprd", "acomp", "ccomp", "attr"})
MODIFIER_DEPS = frozenset({"amod", "acl", "relcl", "appos"})
# Prepositions that keep a figure inside a larger one: "dozens of people",
# "57 people, including 35 civilians", "among them 12 children".
PART_PREPS = frozenset({"of", "including", "among", "like"})
BREAKDOWN_WORDS = frozenset({"including", "among", "them", "incl", "includes", "included"})
DASHES = frozenset({"-", "–", "—"})
MAX_WALK = 8


@dataclass
class Figure:
    """A number expression found in a doc, with what it counts and what happened to them."""

    start: int  # first token, qualifier included
    end: int  # one past the last token of the counted group
    number_end: int
    head: Token  # where the parse walk starts: the counted noun or the number itself
    nouns: list[Token]
    count: int | None
    qualifier: str
    harm: Token | None = None
    outcome: str | None = None
    group: str = "mixed_or_unknown"


@Language.factory(
    "conflict_casualties",
    default_config={"spans_key": "casualties"},
    requires=["token.dep", "token.tag"],
    assigns=["doc.spans"],
)
def make_casualty_recognizer(nlp: Language, name: str, spans_key: str) -> CasualtyRecognizer:
    """Create the casualty component; its word lists load from ``data/`` on first use."""
    return CasualtyRecognizer(nlp.vocab, name=name, spans_key=spans_key)


class CasualtyRecognizer:
    """Find casualty figures and their attributes through the dependency parse."""

    def __init__(self, vocab, *, name: str = "conflict_casualties", spans_key: str = "casualties", data=None):
        self.vocab = vocab
        self.name = name
        self.spans_key = spans_key
        self.data: dict[str, Any] | None = None
        if data is not None:
            self.set_data(data)

    # -- data -----------------------------------------------------------------
    def load_defaults(self) -> None:
        """Load the word lists of ``data/casualty.toml`` and ``data/actors.txt``."""
        self.set_data(default_casualty_data())

    def set_data(self, data: dict[str, Any]) -> None:
        """Use ``data`` (as returned by ``resources.default_casualty_data``) from now on."""
        self.data = data
        lexicon = data["lexicon"]
        harm = lexicon["harm"]
        self.lexicon = lexicon
        self.outcomes = {
            word: outcome for outcome in ("killed", "wounded", "killed_or_wounded") for word in harm[outcome]
        }
        self.life_verbs = set(harm["life_verbs"])
        self.life_nouns = set(harm["life_nouns"])
        self.toll_nouns = set(harm["toll_nouns"])
        self.reporting_verbs = set(harm["reporting_verbs"])
        self.non_event_tags = set(harm["non_event_tags"])
        self.linking_verbs = set(harm["linking_verbs"])
        self.care_verbs = set(harm["care_verbs"])
        numbers = lexicon["numbers"]
        self.vague = set(numbers["vague"])
        self.multipliers = set(numbers["multipliers"])
        self.scales = set(numbers["scales"])
        groups = lexicon["groups"]
        self.word_groups: dict[str, str] = {}
        for group in ("civilian", "security", "militant", "mixed_or_unknown"):
            for word in groups[group]:
                self.word_groups.setdefault(word, group)
        self.generic = set(groups["generic"])
        self.anaphoric = set(groups["anaphoric"])
        self.pronouns = set(groups["pronouns"])
        self.collective = set(groups["collective"])
        self.units = set(groups["units"])
        self.unit_sizes = set(groups["unit_sizes"])
        self.security_modifiers = set(groups["security_modifiers"])
        self.possessives = set(groups["possessives"])
        self.attribution_verbs = set(groups["attribution_verbs"])
        self.all_words = set(groups["all_words"])
        self.both_sides = set(groups["both_sides"])
        self.sides = set(groups["sides"])
        # Figures with no number: "several insurgents", "a number of
        # militants" (vague), "an insurgent", "the child" (one person). Their
        # first words are found with one vectorized look-up over the doc's
        # token attributes, which costs a fraction of a Matcher call.
        strings = self.vocab.strings
        self.single_words = numpy.array(
            [strings.add(word) for word in numbers["single_determiners"]], dtype="uint64"
        )
        self.mention_nouns = numpy.array(
            [strings.add(word) for word in (*self.word_groups, *self.units)], dtype="uint64"
        )
        self.det_dep = strings.add("det")
        self.vague_phrases: dict[int, list[tuple[int, ...]]] = {}
        for phrase in numbers["vague_determiners"]:
            words = tuple(strings.add(word) for word in phrase.split())
            self.vague_phrases.setdefault(words[0], []).append(words)
        self.vague_first = numpy.array(list(self.vague_phrases), dtype="uint64")
        kind_groups = {"armed": "militant", "state": "security"}
        self.actor_groups = {
            actor["name"].lower(): kind_groups[actor["kind"]]
            for actor in data["actors"]
            if actor["kind"] in kind_groups
        }

    def _ensure_data(self) -> None:
        if self.data is None:
            self.load_defaults()

    # -- spaCy component protocol -------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self._ensure_data()
        doc.spans[self.spans_key] = self.find(doc)
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def to_disk(self, path, *, exclude=tuple()) -> None:
        self._ensure_data()
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "casualty.json", self.data)

    def from_disk(self, path, *, exclude=tuple()) -> CasualtyRecognizer:
        self.set_data(srsly.read_json(Path(path) / "casualty.json"))
        return self

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        self._ensure_data()
        return srsly.msgpack_dumps(self.data)

    def from_bytes(self, data: bytes, *, exclude=tuple()) -> CasualtyRecognizer:
        self.set_data(srsly.msgpack_loads(data))
        return self

    # -- finding figures -------------------------------------------------------
    def find(self, doc: Doc) -> list[Span]:
        """Return the casualty spans of ``doc`` with ``Span._.attrs`` filled."""
        self._ensure_data()
        figures = []
        i = 0
        while i < len(doc):
            if not self.is_number(doc[i]):
                i += 1
                continue
            end = self._number_end(doc, i)
            figure = self._figure(doc, i, end)
            if figure is not None:
                figures.append(figure)
            i = end
        if doc.has_annotation("DEP"):
            figures = self._add_mentions(doc, figures)
        for figure in figures:
            if figure.outcome is not None:
                continue
            found = (
                self.find_harm(figure.head)
                or self._adjacent_harm(doc, figure)
                or self._preceding_harm(doc, figure)
            )
            if found is not None:
                figure.harm, figure.outcome = found
        self._inherit(doc, figures)
        spans = []
        for figure in figures:
            if figure.outcome is None:
                continue
            span = Span(doc, figure.start, figure.end, label=CASUALTY)
            span._.attrs = {
                "count": figure.count,
                "qualifier": figure.qualifier,
                "outcome": figure.outcome,
                "group": figure.group,
            }
            span._.source = SOURCE
            spans.append(span)
        return spans

    def is_number(self, token: Token) -> bool:
        """Return whether ``token`` starts or continues a number expression that may count people."""
        if token.ent_type_ in NOT_PEOPLE_ENTS:
            return False
        lower = token.lower_
        if lower in self.vague or lower in self.multipliers:
            return token.tag_ in ("NNS", "NN", "CD", "NNP", "NNPS", "")
        # Ordinals and "one" as a pronoun are like_num too; the tag tells them
        # apart.
        if not token.like_num:
            return False
        return token.tag_ in ("CD", "") or _misread_number(token)

    def _number_end(self, doc: Doc, start: int) -> int:
        """Return one past the last token of the number expression starting at ``start``."""
        end = start + 1
        while end < len(doc):
            token = doc[end]
            lower = token.lower_
            if self.is_number(token) or lower in self.scales or lower in self.multipliers:
                end += 1
            elif (
                token.text in DASHES
                and not token.whitespace_
                and end + 1 < len(doc)
                and self.is_number(doc[end + 1])
            ):
                end += 1  # "twenty-five"
            elif (
                lower == "of"
                and doc[end - 1].lower_ in self.vague
                and end + 1 < len(doc)
                and doc[end + 1].lower_ in self.vague
            ):
                end += 1  # "tens of thousands"
            elif (
                lower == "and"
                and doc[end - 1].lower_ in self.scales
                and end + 1 < len(doc)
                and self.is_number(doc[end + 1])
            ):
                end += 1  # "one hundred and twenty"
            else:
                break
        return end

    def _figure(self, doc: Doc, start: int, end: int) -> Figure | None:
        """Return the figure of the number at ``doc[start:end]``: qualifier, count and counted nouns."""
        number_start = start
        lower = doc[start].lower_
        if (lower in self.multipliers or lower in self.vague) and start > 0 and doc[start - 1].lower_ == "a":
            number_start = start - 1  # "a dozen", "a handful of"
            if start > 1 and doc[start - 2].lower_ == "half":
                number_start = start - 2  # "half a dozen"
        if (
            end + 1 < len(doc)
            and doc[end].text in DASHES
            and not doc[end - 1].whitespace_
            and doc[end + 1].lower_ in self.unit_sizes
        ):
            return None  # "a two-man team" is a unit, not two men
        words = [token.text for token in doc[number_start:end]]
        vague = any(word.lower() in self.vague for word in words)
        count = None if vague else read_count(words, lexicon=self.lexicon)
        if count is None and not vague:
            return None
        before = [token.lower_ for token in doc[max(0, number_start - 4) : number_start]]
        size = 0
        qualifier = None
        for offset in range(len(before)):
            size, qualifier = qualifier_length(before[offset:], lexicon=self.lexicon)
            if size and size == len(before) - offset:
                break
            size, qualifier = 0, None
        qualifier = "vague" if vague else qualifier or "exact"
        first = number_start - size
        root = doc[number_start:end].root
        noun = None
        if root.lower_ in self.vague or root.lower_ in self.multipliers:
            noun = next(
                (
                    child
                    for prep in root.rights
                    if prep.lower_ == "of"
                    for child in prep.rights
                    if child.dep_ == "pobj"
                ),
                None,
            )
        if (
            noun is None
            and (root.dep_ == "nummod" or _misread_number(root))
            and end <= root.head.i <= end + 4
        ):
            noun = root.head
        if noun is None:
            # "18 of the attackers", "two of them"
            part = next(
                (
                    child
                    for prep in root.rights
                    if prep.lower_ == "of" and prep.i == end
                    for child in prep.rights
                    if child.dep_ == "pobj"
                ),
                None,
            )
            if part is not None and (self.is_person(part) or part.lower_ in self.pronouns):
                return Figure(first, part.i + 1, end, root, [part], count, qualifier)
        if noun is None:
            # A bare number standing for people ("killed 12", "Scores dead").
            return Figure(first, end, end, root, [], count, qualifier)
        if noun.lower_ in self.outcomes:
            # "more than 300 casualties", "12 deaths": the noun is the harm word.
            figure = Figure(first, noun.i + 1, end, noun, [], count, qualifier)
            figure.harm, figure.outcome = noun, self.outcomes[noun.lower_]
            return figure
        return self._counted(doc, first, end, root, noun, count, qualifier)

    def _counted(
        self, doc: Doc, first: int, end: int, root: Token, noun: Token, count: int | None, qualifier: str
    ) -> Figure | None:
        """Return the figure whose number (or determiner) ends at ``end`` and counts ``noun``."""
        if not self.is_person(noun):
            return None
        nouns = [noun]
        for conjunct in noun.conjuncts:
            if conjunct.i < noun.i:
                continue
            # "two policemen and a civilian": a conjunct with its own number,
            # article or possessive ("a woman and her child") is a figure of its own.
            if not self.is_person(conjunct) or any(
                child.dep_ in ("nummod", "det", "poss") for child in conjunct.children
            ):
                break
            nouns.append(conjunct)
        if len(nouns) == 1 and noun.lower_ in self.generic:
            part = next(
                (
                    child
                    for prep in noun.rights
                    if prep.lower_ == "of" and prep.i == noun.i + 1
                    for child in prep.rights
                    if child.dep_ == "pobj"
                ),
                None,
            )
            if part is not None and self.is_person(part):
                # "7 members of the security forces" counts security forces.
                root_noun = noun if root.dep_ == "nummod" else root
                return Figure(first, part.i + 1, end, root_noun, [part], count, qualifier)
        # "dozens of people" hangs on "dozens"; "35 civilians" on "civilians".
        head = root if noun.head.i == root.i or noun.head.head.i == root.i else noun
        return Figure(first, nouns[-1].i + 1, end, head, nouns, count, qualifier)

    def _add_mentions(self, doc: Doc, figures: list[Figure]) -> list[Figure]:
        """Add the figures a determiner opens ("several insurgents", "an insurgent") to the numbered ones."""
        taken = {i for figure in figures for i in range(figure.start, figure.end)}
        found = []
        for start, end, single in self._mention_starts(doc):
            if start in taken:
                continue  # "one of the soldiers", "the 12 soldiers"
            figure = self._single(doc, doc[start]) if single else self._vague_mention(doc, start, end)
            if figure is not None and not any(i in taken for i in range(figure.start, figure.end)):
                found.append(figure)
                taken.update(range(figure.start, figure.end))
        if not found:
            return figures
        return sorted(figures + found, key=lambda figure: figure.start)

    def _mention_starts(self, doc: Doc) -> list[tuple[int, int, bool]]:
        """Return ``(start, end, single)`` for determiners of a person noun and for vague phrases."""
        array = doc.to_array([LOWER, DEP, HEAD])
        lower = array[:, 0]
        heads = numpy.arange(len(doc)) + array[:, 2].astype("int64")  # HEAD is an offset
        single = (
            numpy.isin(lower, self.single_words)
            & (array[:, 1] == self.det_dep)
            & numpy.isin(lower[heads], self.mention_nouns)
        )
        found = [(int(i), int(i) + 1, True) for i in numpy.flatnonzero(single)]
        for i in numpy.flatnonzero(numpy.isin(lower, self.vague_first)):
            for words in self.vague_phrases[int(lower[i])]:
                end = int(i) + len(words)
                if end <= len(doc) and tuple(int(word) for word in lower[i:end]) == words:
                    found.append((int(i), end, False))
        return sorted(found)

    def _single(self, doc: Doc, determiner: Token) -> Figure | None:
        # "an insurgent", "a child", "the soldier": one person; "an insurgent
        # mortar team": a unit of unknown size.
        noun = determiner.head
        if not (determiner.i < noun.i <= determiner.i + 6) or noun.tag_ != "NN":
            return None
        lower = noun.lower_
        if lower in self.collective or lower not in self.units and not self.is_person(noun):
            return None  # "the army", "a security force", "the house": no single person
        if any(child.dep_ in ("nummod", "poss") for child in noun.children):
            return None
        if noun.dep_ == "appos" and (self.is_person(noun.head) or noun.head.like_num):
            return None  # "the victim, a 25-year-old trader", "one of them an officer": counted once
        if any(token.dep_ == "appos" and token.tag_ in ("NNP", "NNPS") for token in noun.subtree):
            return None  # a named victim ("a commander of the group, Abu Ahmed") is an ACTOR only
        if lower in self.units:
            modifiers = list(doc[determiner.i + 1 : noun.i])
            if self._modifier_group(modifiers) is None:
                return None  # "a medical team": no armed unit
            count, qualifier = None, "vague"
            for index, token in enumerate(modifiers[:-2]):
                if modifiers[index + 1].text in DASHES and modifiers[index + 2].lower_ in self.unit_sizes:
                    count = read_count([token.text], lexicon=self.lexicon)  # "a two-man team"
                    qualifier = "vague" if count is None else "exact"
            figure = Figure(determiner.i, noun.i + 1, determiner.i + 1, noun, [], count, qualifier)
            figure.nouns = [noun]
            return figure
        return self._counted(doc, determiner.i, determiner.i + 1, noun, noun, 1, "exact")

    def _vague_mention(self, doc: Doc, start: int, end: int) -> Figure | None:
        last = doc[end - 1]
        if last.lower_ == "of":
            noun = next((child for child in last.children if child.dep_ == "pobj"), None)
        else:
            noun = last.head if last.dep_ in ("amod", "det", "nummod") and last.head.i > last.i else None
        if noun is None or noun.tag_ not in ("NNS", "NNPS") or noun.i > end + 3:
            return None
        if any(child.dep_ == "nummod" for child in noun.children):
            return None
        return self._counted(doc, start, end, noun, noun, None, "vague")

    def is_person(self, token: Token) -> bool:
        """Return whether a counted noun names people ("civilians", "Taliban", "Palestinians")."""
        lower = token.lower_
        if lower in self.word_groups or lower in self.actor_groups:
            return True
        return token.ent_type_ == "NORP" and token.tag_ in ("NNPS", "NNS")

    # -- linking to the harm word ------------------------------------------------
    def harm_outcome(self, token: Token) -> str | None:
        """Return the outcome a harm word states, or None if it states none here."""
        outcome = self.outcomes.get(token.lower_)
        if outcome is None:
            if token.lower_ in self.life_verbs and any(
                child.dep_ == "dobj" and child.lower_ in self.life_nouns for child in token.children
            ):
                return "killed"
            return None
        if token.tag_ in self.non_event_tags or any(child.dep_ == "neg" for child in token.children):
            return None  # "threatened to kill 100", "no one was killed"
        return outcome

    def _combined_outcome(self, harm: Token, outcome: str, *, role: str = "dobj") -> str:
        # "killed or wounded 18 soldiers", "12 people were killed or wounded":
        # a coordinated harm word of the other kind that lacks a figure in the
        # same role shares this one, which then counts both.
        roles = ("dobj",) if role == "dobj" else ("nsubj", "nsubjpass")
        for other in harm.conjuncts:
            other_outcome = self.outcomes.get(other.lower_)
            if other_outcome is None or other_outcome == outcome:
                continue
            if not any(child.dep_ in roles for child in other.children):
                return "killed_or_wounded"
        return outcome

    def find_harm(self, token: Token) -> tuple[Token, str] | None:
        """Follow the parse up from a figure to the word saying it was killed or wounded."""
        start = token
        for _ in range(MAX_WALK):
            # Only people carry their fate as a modifier ("civilians killed in
            # the strike"); "clashes that killed ..." says nothing of a figure
            # hanging on "clashes".
            if token is start or self.is_person(token):
                for child in token.children:
                    if (
                        child.dep_ in MODIFIER_DEPS
                        and (outcome := self.harm_outcome(child))
                        and not self._kills_others(child, subject=None)
                    ):
                        return child, self._combined_outcome(child, outcome)
            head = token.head
            dep = token.dep_
            if head.i == token.i:
                return None
            if (
                dep in ("nummod", "quantmod", "compound")
                or dep in LIST_DEPS
                and head.tag_.startswith(("NN", "CD", "PRP"))
            ):
                token = head
            elif dep == "pobj":
                if head.lower_ in PART_PREPS:
                    if outcome := self.outcomes.get(head.head.lower_):
                        return head.head, outcome  # "the deaths of 12 people"
                    token = head.head
                elif head.lower_ in ("to", "at") and (toll := self._toll(head.head)):
                    return toll
                else:
                    return None
            elif dep in ARGUMENT_DEPS:
                if dep == "nsubj" and self._kills_others(head, subject=token):
                    return None  # "a gunman killed 3 people": the subject is no victim
                if outcome := self.harm_outcome(head):
                    return head, self._combined_outcome(head, outcome, role=dep)
                if dep == "dobj" and head.lower_ in self.life_verbs and self.is_person(token):
                    return head, "killed"  # "the army lost 14 soldiers"
                if head.lower_ in self.linking_verbs and (found := self._among(head)):
                    return found
                if head.lower_ in self.reporting_verbs:
                    # "12 soldiers were reported killed", "left 12 people dead";
                    # not the speaker of "... were killed, a health official said".
                    for child in head.children:
                        if (
                            child.dep_ in COMPLEMENT_DEPS
                            and (outcome := self.harm_outcome(child))
                            and not any(grand.dep_ in ("nsubj", "nsubjpass") for grand in child.children)
                        ):
                            return child, self._combined_outcome(child, outcome)
                        if (
                            child.dep_ in COMPLEMENT_DEPS
                            and child.lower_ in self.linking_verbs
                            and (found := self._among(child))
                        ):
                            return found  # "were reported to have been among those killed"
                if dep in ("nsubj", "nsubjpass") and head.lower_ in self.care_verbs:
                    return self._care(head)
                return None
            else:
                return None
        return None

    def _kills_others(self, verb: Token, *, subject: Token | None) -> bool:
        """Return whether ``subject``, or the noun a harm verb modifies, does the harm to an object."""
        objects = [
            child for child in verb.children if child.dep_ == "dobj" and child.lower_ not in self.life_nouns
        ]
        if subject is not None:
            return bool(objects)  # "a gunman killed 3 people"; not "12 people lost their lives"
        # "a man who killed his neighbour", "a suicide bomber killed 12" read as
        # a reduced relative; not "civilians killed in the strike" nor "the
        # soldier whom gunmen killed".
        return any(child.tag_ not in ("WP", "WDT") for child in objects)

    def _adjacent_harm(self, doc: Doc, figure: Figure) -> tuple[Token, str] | None:
        # "... and nearly 1,000 injured": the parse may hang the figure on the
        # wrong verb, but a harm participle right after it speaks of it.
        if figure.end >= len(doc):
            return None
        following = doc[figure.end]
        if following.tag_ in ("VBN", "JJ") and (outcome := self.harm_outcome(following)):
            return following, outcome
        return None

    def _preceding_harm(self, doc: Doc, figure: Figure) -> tuple[Token, str] | None:
        # "a patrol killed a two-man insurgent team planting explosives": a
        # misparse may hang the object elsewhere, but a harm verb right before
        # it has it as its object.
        if figure.start == 0 or figure.head.dep_ in ("poss", "compound", "amod", "nmod"):
            return None  # "killed the man's brother" counts the brother
        verb = doc[figure.start - 1]
        if verb.tag_ in ("VBD", "VBG", "VBZ", "VBP") and (outcome := self.harm_outcome(verb)):
            return verb, outcome
        return None

    def _care(self, verb: Token) -> tuple[Token, str] | None:
        # "were taken to hospital with wounds", "being treated for gunshot wounds"
        for token in verb.subtree:
            if token.dep_ == "pobj" and token.head.lower_ in ("with", "for"):
                outcome = self.outcomes.get(token.lower_)
                if outcome is not None:
                    return token, outcome
        return None

    def _among(self, verb: Token) -> tuple[Token, str] | None:
        # "three peacekeepers were among those killed / among the dead"
        for prep in verb.children:
            if prep.dep_ == "prep" and prep.lower_ == "among":
                for group in prep.children:
                    if outcome := self.harm_outcome(group):
                        return group, outcome
                    for child in group.children:
                        if child.dep_ in MODIFIER_DEPS and (outcome := self.harm_outcome(child)):
                            return child, outcome
        return None

    def _toll(self, verb: Token) -> tuple[Token, str] | None:
        # "the death toll rose to 45", "put the toll at 12".
        for child in verb.children:
            if child.dep_ in ("nsubj", "nsubjpass", "dobj") and child.lower_ in self.toll_nouns:
                for modifier in child.lefts:
                    if outcome := self.outcomes.get(modifier.lower_):
                        return child, outcome
                return child, "killed"
        return None

    # -- second pass: breakdowns and "others" ------------------------------------
    def _inherit(self, doc: Doc, figures: list[Figure]) -> None:
        previous: Figure | None = None
        for figure in figures:
            same_sentence = previous is not None and _same_sentence(doc, previous.start, figure.start)
            if (
                figure.outcome is None
                and same_sentence
                and previous.outcome
                and self._is_breakdown(doc, figure)
            ):
                figure.outcome = previous.outcome  # "57 people - including 35 civilians, ..."
            anaphoric = len(figure.nouns) == 1 and figure.nouns[0].lower_ in self.anaphoric
            if (
                figure.outcome is None
                and anaphoric
                and same_sentence
                and figure.nouns[0].lower_ in self.pronouns
            ):
                figure.outcome = previous.outcome  # "wounded three civilians, two of them seriously"
            if anaphoric and same_sentence:
                figure.group = previous.group  # "killed two policemen and wounded three others"
            else:
                figure.group = self.group(doc, figure)
            if figure.outcome is not None:
                previous = figure

    def _is_breakdown(self, doc: Doc, figure: Figure) -> bool:
        # The figure belongs to a list opened by "including"/"among them"
        # before it, in the same sentence.
        for token in figure.head.ancestors:
            if token.lower_ in BREAKDOWN_WORDS:
                return True
        window = doc[max(0, figure.start - 12) : figure.start]
        return any(token.lower_ in BREAKDOWN_WORDS for token in window)

    def group(self, doc: Doc, figure: Figure) -> str:
        """Return the GUIDELINES.md group of the people a figure counts."""
        if not figure.nouns:
            return "mixed_or_unknown"
        groups = set()
        for noun in figure.nouns:
            modifiers = [token for token in doc[noun.left_edge.i : noun.i] if token.i >= figure.number_end]
            groups.add(self._noun_group(noun, modifiers))
        group = groups.pop() if len(groups) == 1 else "mixed_or_unknown"
        noun = figure.nouns[-1]
        if any(token.lower_ in self.both_sides and token.head.lower_ in self.sides for token in noun.subtree):
            return "mixed_or_unknown"  # "Twelve fighters from both sides"
        if noun.lower_ in self.generic and self._between_opponents(noun):
            return "mixed_or_unknown"  # "clashes between government forces and the Houthis left 22 fighters dead"
        if group == "mixed_or_unknown" and len(figure.nouns) == 1:
            return self._apposed_group(noun) or group
        return group

    def _between_opponents(self, noun: Token) -> bool:
        """Return whether the sentence sets two parties of different groups against each other."""
        for token in noun.sent:
            if token.lower_ != "between":
                continue
            for party in token.children:
                if party.dep_ != "pobj":
                    continue
                groups = {self._party_group(party)} | {self._party_group(other) for other in party.conjuncts}
                groups.discard(None)
                if len(groups) > 1:
                    return True
        return False

    def _party_group(self, party: Token) -> str | None:
        group = self.word_groups.get(party.lower_) or self.actor_groups.get(party.lower_)
        if group in (None, "mixed_or_unknown") or party.lower_ in self.generic:
            group = self._modifier_group([token for token in party.subtree if token.dep_ != "conj"])
        return group if group != "mixed_or_unknown" else None

    def _apposed_group(self, noun: Token) -> str | None:
        # "12 people, all civilians", "four people, all members of the security
        # forces": an apposition that says who all of them were.
        for appos in noun.children:
            if appos.dep_ != "appos" or not any(child.lower_ in self.all_words for child in appos.children):
                continue
            target = appos
            if appos.lower_ in self.generic:
                target = next(
                    (
                        child
                        for prep in appos.children
                        if prep.dep_ == "prep" and prep.lower_ == "of"
                        for child in prep.children
                        if child.dep_ == "pobj"
                    ),
                    appos,
                )
            modifiers = [token for token in target.lefts if token.lower_ not in self.all_words]
            group = self._noun_group(target, modifiers)
            if group != "mixed_or_unknown" and all(
                self._noun_group(other, []) == group for other in target.conjuncts
            ):
                return group
        return None

    def _noun_group(self, noun: Token, modifiers: list[Token]) -> str:
        lower = noun.lower_
        group = self.word_groups.get(lower) or self.actor_groups.get(lower)
        if group == "militant" and any(token.lower_ in self.security_modifiers for token in modifiers):
            return "security"  # "pro-government militiamen", "government fighters"
        if group is None or lower in self.generic:
            from_modifiers = self._modifier_group(modifiers)
            if from_modifiers is not None:
                return from_modifiers
            if any(token.lower_ in self.possessives for token in modifiers):
                from_owner = self._owner_group(noun)
                if from_owner is not None:
                    return from_owner  # "Al-Shabaab said two of its members were killed"
        return group or "mixed_or_unknown"

    def _owner_group(self, noun: Token) -> str | None:
        # "its"/"their" stands for the subject of the verb that reports the figure.
        for verb in noun.ancestors:
            if verb.lower_ not in self.attribution_verbs:
                continue
            for subject in verb.children:
                if subject.dep_ == "nsubj" and not subject.is_ancestor(noun):
                    return self._modifier_group(list(subject.subtree))
        return None

    def _modifier_group(self, modifiers: list[Token]) -> str | None:
        words = [token.lower_ for token in modifiers]
        # Actor names first, longest first ("Islamic State fighters"), read
        # as written ("al-Shabaab") and word by word.
        for size in range(len(words), 0, -1):
            for begin in range(len(words) - size + 1):
                first, last = modifiers[begin], modifiers[begin + size - 1]
                written = first.doc[first.i : last.i + 1].text.lower()
                group = self.actor_groups.get(written) or self.actor_groups.get(
                    " ".join(words[begin : begin + size])
                )
                if group is not None:
                    return group
        for word in reversed(words):
            group = self.word_groups.get(word)
            if group is not None and group != "mixed_or_unknown":
                return group
        return None


def _misread_number(token: Token) -> bool:
    """Return whether a number word the parser misread modifies a plural noun ("Eleven SDF fighters")."""
    # A number word opening a sentence may be tagged JJ or NNP, or hang on its
    # noun as a compound ("More than a dozen soldiers"); before a plural noun
    # it still counts it.
    return (
        token.is_alpha
        and token.tag_ in ("JJ", "NNP", "CD", "NN")
        and token.dep_ in ("amod", "compound", "nummod")
        and token.head.tag_ in ("NNS", "NNPS")
        and token.head.i > token.i
    )


def _same_sentence(doc: Doc, first: int, second: int) -> bool:
    if not doc.has_annotation("SENT_START"):
        return True
    return doc[first].sent.start == doc[second].sent.start
