"""The ``conflict_entities`` component: the final ACTOR, LOCATION and CASUALTY spans.

It runs last and rewrites ``doc.ents``:

1. maps the statistical entities (PERSON, ORG -> ACTOR; GPE, LOC, FAC ->
   LOCATION; NORP -> ACTOR only for known parties such as "Taliban");
2. adds gazetteer matches: places (GeoNames + ``afghanistan.tsv`` +
   ``regions.tsv``) and actors (``actors.txt``), and relabels statistical
   entities the gazetteers know better ("Kajaki" is no ORG, "Musa Qala" no PERSON);
3. adds descriptive force mentions from the token patterns of ``forces.jsonl``
   ("Afghan security forces", "government troops", "U.S.-led coalition"),
   names announced by a title ("Defense Minister Rustem Umerov"), later
   mentions of a person by surname, and unknown names the context calls a
   place ("the village of Zabarmari", "in Boni", "Bashair Teaching Hospital");
4. applies the boundary rules of GUIDELINES.md: titles, determiners and
   possessives out ("President Hamid Karzai" -> "Hamid Karzai"); "province" and
   "district" in; possessive chains split ("Helmand province's Sangin
   district"); bylines, photo credits and news agencies out;
5. reads capitals and countries that act or negotiate as ACTORs ("talks with
   Washington") and drops countries used as modifiers ("a U.S. military offensive");
6. takes the casualty figures of ``conflict_casualties`` and resolves overlaps:
   CASUALTY first, then the longer span, then the more trusted source.

Every span it sets records its origin in ``Span._.source``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from annotator.labels import ACTOR, CASUALTY, LOCATION
from annotator.nlp.extensions import PIPELINE_VERSION
from annotator.nlp.resources import default_entity_data

# Ranks break ties between overlapping spans of equal length: lower wins.
RANK_CASUALTY = 0
RANK_CURATED = 1  # actor gazetteer, force patterns, curated or strong places
RANK_NER = 2
RANK_WEAK = 3  # GeoNames-only cities

POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
BRACKETS = frozenset({"(", ")", "[", "]"})
DASHES = frozenset({"-", "–", "—"})
LEADING_WORDS = frozenset(
    {"the", "a", "an", "its", "their", "his", "her", "our", "this", "that", "these", "those"}
)
# Lower-case words that may sit inside a capitalized place name.
NAME_CONNECTORS = frozenset(
    {
        "of",
        "the",
        "al",
        "el",
        "ad",
        "ash",
        "as",
        "at",
        "an",
        "ar",
        "az",
        "ez",
        "e",
        "i",
        "wa",
        "de",
        "da",
        "du",
        "la",
        "le",
        "des",
        "y",
        "and",
        "-",
        "’",
        "'",
        ".",
    }
)
PROPER_TAGS = frozenset({"NNP", "NNPS"})
MODIFIER_DEPS = frozenset({"compound", "amod", "nmod"})
# Words of letters only, single spaces between: no tokenizer rule applies.
_PLAIN_NAME = re.compile(r"^[A-Z][a-z]+( [A-Z][a-z]+)*$")


@dataclass
class Candidate:
    """A proposed span: token offsets, label, origin and how much it is trusted."""

    start: int
    end: int
    label: str
    source: str
    rank: int
    ner_label: str = ""
    attrs: dict[str, Any] | None = None


@Language.factory(
    "conflict_entities",
    default_config={
        "casualties_key": "casualties",
        "min_city_population": 50000,
        "strong_city_population": 1000000,
    },
    requires=["doc.ents", "token.dep", "token.tag"],
    assigns=["doc.ents"],
)
def make_conflict_entities(
    nlp: Language, name: str, casualties_key: str, min_city_population: int, strong_city_population: int
) -> ConflictEntities:
    """Create the entity assembler; its gazetteers load from ``data/`` on first use."""
    return ConflictEntities(
        nlp,
        name=name,
        casualties_key=casualties_key,
        min_city_population=min_city_population,
        strong_city_population=strong_city_population,
    )


def _key(tokens: Iterable) -> str:
    return " ".join(token.lower_ for token in tokens)


class ConflictEntities:
    """Assemble the project's entities from NER, gazetteers, patterns and casualty figures."""

    def __init__(
        self,
        nlp: Language,
        *,
        name: str = "conflict_entities",
        casualties_key: str = "casualties",
        min_city_population: int = 50000,
        strong_city_population: int = 1000000,
        data: dict[str, Any] | None = None,
    ):
        self.nlp = nlp
        self.name = name
        self.casualties_key = casualties_key
        self.min_city_population = min_city_population
        self.strong_city_population = strong_city_population
        self.data: dict[str, Any] | None = None
        if data is not None:
            self.set_data(data)

    # -- data -----------------------------------------------------------------
    def load_defaults(self) -> None:
        """Build the gazetteers from the data files and GeoNames."""
        self.set_data(
            default_entity_data(
                min_city_population=self.min_city_population,
                strong_city_population=self.strong_city_population,
            )
        )

    def set_data(self, data: dict[str, Any]) -> None:
        """Use ``data`` (as returned by ``resources.default_entity_data``) and build the matchers."""
        self.data = data
        vocab = self.nlp.vocab
        lexicon = data["lexicon"]
        self.lexicon = lexicon

        self.special_cases = set(getattr(self.nlp.tokenizer, "rules", None) or ())
        places = data["places"]
        self.place_info = {}
        place_docs = (self._pattern_doc(entry["name"]) for entry in places)
        self.place_matcher = PhraseMatcher(vocab, attr="LOWER")
        patterns = []
        for entry, pattern in zip(places, place_docs, strict=True):
            self.place_info[_key(pattern)] = entry
            patterns.append(pattern)
        self.place_matcher.add("PLACE", patterns)

        self.actor_info: dict[str, list[tuple[str, str]]] = {}
        actors = data["actors"]
        actor_docs = self.nlp.tokenizer.pipe(actor["name"] for actor in actors)
        self.actor_matcher = PhraseMatcher(vocab, attr="LOWER")
        patterns = []
        for actor, pattern in zip(actors, actor_docs, strict=True):
            self.actor_info.setdefault(_key(pattern), []).append((actor["name"], actor["kind"]))
            patterns.append(pattern)
        self.actor_matcher.add("ACTOR", patterns)

        self.force_matcher = Matcher(vocab)
        self.pattern_labels = {}
        for entry in data["forces"]:
            self.force_matcher.add(entry["id"], [entry["pattern"]], greedy="LONGEST")
            self.pattern_labels[vocab.strings[entry["id"]]] = entry.get("label", ACTOR)

        self.titles = set()
        self.multiword_titles = []
        for title in data["titles"]:
            words = tuple(title.lower().split())
            if len(words) == 1:
                self.titles.add(words[0])
            else:
                self.multiword_titles.append(words)
        self.title_first_words = {words[0] for words in self.multiword_titles}
        self.agencies = set(data["agencies"])
        self.label_map = {
            label: project for project in (ACTOR, LOCATION) for label in lexicon["ner"][project]
        }
        self.actor_if_known = set(lexicon["ner"]["actor_if_known"])
        suffixes = [tuple(suffix.split()) for suffix in lexicon["places"]["suffixes"]]
        self.place_suffixes = sorted(suffixes, key=len, reverse=True)
        self.suffix_words = {words[0] for words in suffixes}
        actors_lex = lexicon["actors"]
        self.person_institutions = set(actors_lex["person_institutions"])
        self.institution_heads = set(actors_lex["institution_heads"])
        self.title_heads = set(actors_lex["title_heads"])
        self.name_titles = set(actors_lex["name_titles"])
        self.non_affiliations = set(actors_lex["non_affiliations"])
        self.coordinated_forces = set(actors_lex["coordinated_forces"])
        forces_lex = lexicon["forces"]
        self.force_modifiers = set(forces_lex["modifiers"])
        self.group_nouns = set(forces_lex["group_nouns"])
        self.force_nouns = set(forces_lex["force_nouns"])
        self.demonyms = set(forces_lex["demonyms"])
        places_lex = lexicon["places"]
        self.facility_heads = set(places_lex["facility_heads"])
        self.place_nouns = set(places_lex["place_nouns"])
        self.locative_preps = set(places_lex["locative_preps"])
        metonymy = lexicon["metonymy"]
        self.agent_verbs = set(metonymy["agent_verbs"])
        self.patient_verbs = set(metonymy["patient_verbs"])
        self.party_nouns = set(metonymy["party_nouns"])
        self.party_preps = set(metonymy["party_preps"])
        self.party_hyphen_words = set(metonymy["party_hyphen_words"])
        credits = lexicon["credits"]
        self.credit_markers = tuple(credits["sentence_markers"])
        self.parenthesis_markers = set(credits["parenthesis_markers"])
        self.agency_suffixes = tuple(credits["agency_suffixes"])

    def _pattern_doc(self, text: str) -> Doc:
        # Names of plain words tokenize on spaces alone; building those docs
        # directly halves the start-up time of the place gazetteer.
        if _PLAIN_NAME.match(text):
            words = text.split(" ")
            if not any(word in self.special_cases for word in words):
                return Doc(self.nlp.vocab, words=words)
        return self.nlp.make_doc(text)

    def _ensure_data(self) -> None:
        if self.data is None:
            self.load_defaults()

    # -- spaCy component protocol -------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self._ensure_data()
        chosen = self.select(self.candidates(doc), len(doc))
        spans = []
        for candidate in chosen:
            span = Span(doc, candidate.start, candidate.end, label=candidate.label)
            span._.source = candidate.source
            span._.attrs = candidate.attrs if candidate.label == CASUALTY else None
            spans.append(span)
        doc.ents = spans
        doc._.pipeline_version = PIPELINE_VERSION
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def to_disk(self, path, *, exclude=tuple()) -> None:
        self._ensure_data()
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_jsonl(path / "places.jsonl", self.data["places"])
        srsly.write_jsonl(path / "actors.jsonl", self.data["actors"])
        srsly.write_jsonl(path / "forces.jsonl", self.data["forces"])
        srsly.write_json(
            path / "lists.json",
            {
                "titles": self.data["titles"],
                "agencies": self.data["agencies"],
                "lexicon": self.data["lexicon"],
            },
        )

    def from_disk(self, path, *, exclude=tuple()) -> ConflictEntities:
        path = Path(path)
        lists = srsly.read_json(path / "lists.json")
        self.set_data(
            {
                "places": list(srsly.read_jsonl(path / "places.jsonl")),
                "actors": list(srsly.read_jsonl(path / "actors.jsonl")),
                "forces": list(srsly.read_jsonl(path / "forces.jsonl")),
                **lists,
            }
        )
        return self

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        self._ensure_data()
        return srsly.msgpack_dumps(self.data)

    def from_bytes(self, data: bytes, *, exclude=tuple()) -> ConflictEntities:
        self.set_data(srsly.msgpack_loads(data))
        return self

    # -- candidates ------------------------------------------------------------
    def candidates(self, doc: Doc) -> list[Candidate]:
        """Return every proposed span of ``doc``, before overlaps are resolved."""
        self._ensure_data()
        blocked = self.credit_tokens(doc)
        place_hits = self.place_hits(doc)
        actor_hits = self.actor_hits(doc)
        found: list[Candidate] = []
        found.extend(self._ner_candidates(doc, place_hits, actor_hits))
        for start, end in actor_hits:
            found.append(Candidate(start, end, ACTOR, "gazetteer:actors", RANK_CURATED))
        for (start, end), entry in place_hits.items():
            if entry["suffix"] and not self._suffix_length(doc, end):
                continue
            rank = RANK_CURATED if entry["strong"] else RANK_WEAK
            found.append(Candidate(start, end, LOCATION, "gazetteer:places", rank))
        found.extend(self.force_candidates(doc))
        found.extend(self._titled_names(doc))
        found.extend(self._repeated_names(doc, found))
        found.extend(self._acronyms(doc, found))
        result = []
        for candidate in found:
            candidate = self._extend(doc, candidate)
            if candidate is None:
                continue
            if candidate.label == LOCATION:
                candidate = self._reread_place(doc, candidate)
                if candidate is None:
                    continue
            if candidate.label == ACTOR and self._is_agency(doc, candidate):
                continue
            result.append(candidate)
        for span in doc.spans.get(self.casualties_key, ()):
            result.append(
                Candidate(
                    span.start,
                    span.end,
                    CASUALTY,
                    span._.source or "casualty",
                    RANK_CASUALTY,
                    attrs=span._.attrs,
                )
            )
        return [
            candidate
            for candidate in result
            if not any(i in blocked for i in range(candidate.start, candidate.end))
            and _clean_edges(doc[candidate.start : candidate.end].text)
        ]

    def _ner_candidates(self, doc: Doc, place_hits: dict, actor_hits: dict) -> Iterable[Candidate]:
        for ent in doc.ents:
            label = self.label_map.get(ent.label_)
            if label is None and ent.label_ not in self.actor_if_known:
                continue
            person = ent.label_ == "PERSON" or self._is_titled_person(doc, ent.start, ent.end)
            for start, end in self._split_possessives(doc, ent.start, ent.end):
                if (
                    _after_spaced_dash(doc, start)
                    and end - start == 1
                    and doc[start].lower_ in self.force_nouns
                ):
                    continue  # "Fighters" of "Nigeria - Fighters of ...": a common noun
                start, end = self._trim(doc, start, end, person=person)
                if start >= end or self._is_lone_title(doc, start, end):
                    continue
                ner_label = "PERSON" if person else ent.label_
                candidate = Candidate(start, end, label, "ner", RANK_NER, ner_label=ner_label)
                if (start, end) in actor_hits:
                    candidate.label, candidate.source, candidate.rank = (
                        ACTOR,
                        "gazetteer:actors",
                        RANK_CURATED,
                    )
                elif (start, end) in place_hits and (
                    ent.label_ != "PERSON" or place_hits[start, end]["strong"]
                ):
                    candidate.label, candidate.source, candidate.rank = (
                        LOCATION,
                        "gazetteer:places",
                        RANK_CURATED,
                    )
                if candidate.label is None:
                    continue  # a NORP that names no known party: "Afghan", "Afghans"
                if candidate.source == "ner" and not any(char.isupper() for char in doc[start:end].text):
                    continue  # "the government", "insurgents": no name
                if (
                    candidate.source == "ner"
                    and candidate.label == ACTOR
                    and self._names_place(doc, start, end)
                ):
                    candidate.label, candidate.source = LOCATION, "rules:place-context"
                yield candidate

    @staticmethod
    def _acronyms(doc: Doc, found: list[Candidate]) -> Iterable[Candidate]:
        # "Multinational Joint Task Force (MNJTF)", "Malian armed forces
        # (FAMa)": the acronym in brackets after an actor is the same actor,
        # even where the NER misses it.
        ends = {candidate.end for candidate in found if candidate.label == ACTOR}
        for end in ends:
            if end + 2 < len(doc) and doc[end].text == "(" and doc[end + 2].text == ")":
                acronym = doc[end + 1]
                text = acronym.text
                # "ADF", "M23", "FAMa": a capital first and at least two in all
                if text[:1].isupper() and sum(char.isupper() for char in text) > 1 and text.isalnum():
                    yield Candidate(end + 1, end + 2, ACTOR, "rules:acronym", RANK_CURATED)

    def _is_titled_person(self, doc: Doc, start: int, end: int) -> bool:
        # "Air Vice Marshal Olusegun Philips" read as an organization: a title
        # that announces a name, then names only.
        size = 0
        while start + size < end and (step := self._title_length(doc, start + size, end)):
            size += step
        if not size or doc[start + size - 1].lower_.rstrip(".") not in self.name_titles:
            return False
        rest = [token for token in doc[start + size : end] if token.text != "."]
        return bool(rest) and all(self._could_be_name(token) or token.ent_type_ for token in rest)

    def _is_lone_title(self, doc: Doc, start: int, end: int) -> bool:
        # "Brig" of "Brig. Gen. Onyema Nwachukwu", "Rear Admiral" of "Rear
        # Admiral Aminu Hassan" read as names of their own.
        if end >= len(doc):
            return False
        if self._title_length(doc, start, end) != end - start and any(
            token.lower_.rstrip(".") not in self.titles for token in doc[start:end]
        ):
            return False
        following = doc[end]
        if following.text == ".":
            return True
        # A name follows, not another title ("Army Brig. Gen. ..." keeps "Army").
        return (
            following.tag_ in PROPER_TAGS
            and following.is_title
            and following.lower_.rstrip(".") not in self.titles
        )

    def _names_place(self, doc: Doc, start: int, end: int) -> bool:
        # Organizations named after a facility ("Bashair Teaching Hospital",
        # "Camp Shorab") and unknown names that the context calls a place
        # ("the village of Zabarmari", "in Boni", "Mayo, a district of ...").
        words = doc[start:end]
        if len(words) > 1 and (
            words[-1].lower_ in self.facility_heads or words[0].lower_ in ("camp", "fort")
        ):
            return True
        root = words.root
        while root.dep_ == "conj" and root.head.i < root.i:
            root = root.head  # "the villages of Aitaroun and Bint Jbeil"
        if any(child.dep_ == "appos" and child.lower_ in self.place_nouns for child in root.children):
            return True
        if root.dep_ != "pobj":
            return False
        preposition = root.head
        if preposition.lower_ == "of" and preposition.head.lower_ in self.place_nouns:
            return True
        return preposition.lower_ in self.locative_preps

    def _titled_names(self, doc: Doc) -> Iterable[Candidate]:
        # "Defense Minister Rustem Umerov visited ...": the NER often misses a
        # name at the start of a sentence, but the title announces it.
        index = 0
        while index < len(doc) - 1:
            token = doc[index]
            index += 1
            if token.lower_.rstrip(".") not in self.name_titles or not token.text[:1].isupper():
                continue
            if doc[index].text == "." and index + 1 < len(doc):
                index += 1  # "Lt.-Gen. Taoreed Lagbaja": the title's full stop stands apart
            start = stop = index
            while stop < len(doc) and stop - start < 4 and self._could_be_name(doc[stop]):
                stop += 1
            if stop > start:
                yield Candidate(start, stop, ACTOR, "rules:title-name", RANK_NER, ner_label="PERSON")
                index = stop

    def _could_be_name(self, token) -> bool:
        lower = token.lower_.rstrip(".")
        if (
            token.tag_ not in PROPER_TAGS
            or not token.text[:1].isupper()
            or token.ent_type_ not in ("", "PERSON", "ORG")
            or token.ent_type_ == "ORG"
            and token.is_upper  # an acronym, not a name
        ):
            return False
        return not (
            lower in self.titles
            or lower in self.institution_heads
            or lower in self.group_nouns
            or lower in self.suffix_words
            or lower in self.place_nouns
        )

    @staticmethod
    def _repeated_names(doc: Doc, found: list[Candidate]) -> Iterable[Candidate]:
        # Later mentions by surname ("Ashraf Ghani Ahmadzai" ... "Ahmadzai said")
        # that the NER missed or read as something else.
        surnames = {}
        for candidate in found:
            if (
                candidate.ner_label == "PERSON"
                and candidate.label == ACTOR
                and candidate.end - candidate.start > 1
            ):
                last = doc[candidate.end - 1]
                if last.is_title and last.is_alpha:
                    surnames[last.text] = candidate
        if not surnames:
            return
        for token in doc:
            if token.text in surnames and token.ent_type_ != "PERSON" and token.tag_ in PROPER_TAGS:
                if _in_name(doc, token.i):
                    continue  # part of a longer name: "Resolute Support mission"
                # Outranks an NER reading of the same word as a place or an
                # organization ("offers Hekmatyar immunity" read as GPE).
                yield Candidate(
                    token.i, token.i + 1, ACTOR, "rules:name-repeat", RANK_CURATED, ner_label="PERSON"
                )

    def place_hits(self, doc: Doc) -> dict[tuple[int, int], dict[str, Any]]:
        """Return gazetteer places written as names (capitalized, proper nouns) by token offsets."""
        hits = {}
        for _, start, end in self.place_matcher(doc):
            span = doc[start:end]
            if not self._written_as_name(span):
                continue
            hits[start, end] = self.place_info[_key(span)]
        return hits

    def _written_as_name(self, span: Span) -> bool:
        first = span[0].text
        if not first[:1].isupper():
            return False
        for token in span:
            if token.lower_ not in NAME_CONNECTORS and not token.text[:1].isupper() and not token.is_digit:
                return False
        # A lone capitalized word at the start of a sentence may be any word
        # ("Police said ..."): ask the tagger or the NER whether it is a name.
        last = span[-1]
        return last.tag_ in PROPER_TAGS or last.ent_type_ != "" or last.is_upper or not last.tag_

    def actor_hits(self, doc: Doc) -> dict[tuple[int, int], str]:
        """Return actor gazetteer matches written in a form the gazetteer allows, with their kind."""
        hits = {}
        for _, start, end in self.actor_matcher(doc):
            text = doc[start:end].text
            for form, kind in self.actor_info.get(_key(doc[start:end]), ()):
                if self._actor_form_matches(text, form):
                    hits[start, end] = kind
                    break
        return hits

    @staticmethod
    def _actor_form_matches(text: str, form: str) -> bool:
        if not any(char.islower() for char in form):
            return text == form  # acronyms only in capitals: "ANSF", not "ansf"
        if form[0].islower():
            return True  # "al-Shabaab" is written either way
        return text[0].isupper()

    def force_candidates(self, doc: Doc) -> list[Candidate]:
        """Return descriptive force mentions ("Afghan security forces") from the token patterns."""
        found = []
        for match_id, start, end in self.force_matcher(doc):
            label = self.pattern_labels[match_id]
            last = doc[end - 1]
            if label == LOCATION:
                if last.lower_ not in self.suffix_words:
                    end -= 1  # "the Dasht-e-Barchi area": the name alone
                found.append(Candidate(start, end, LOCATION, "patterns:places", RANK_WEAK))
                continue
            if last.dep_ in MODIFIER_DEPS and last.head.i >= end:
                continue  # "government officials", "police checkpoints", "U.S. military presence"
            if any(token.text in DASHES and token.whitespace_ for token in doc[start:end]):
                continue  # "MAIDUGURI, Nigeria - Fighters of ...": a spaced dash ends a dateline
            if end < len(doc) and doc[end].tag_ in ("NN", "NNS") and doc[end].lower_ not in self.group_nouns:
                continue  # "Syrian government airstrikes", even when the parse misses it
            start, end = self._trim(doc, start, end, person=False)
            if start >= end:
                continue
            found.append(Candidate(start, end, ACTOR, "patterns:forces", RANK_CURATED))
            found.extend(self._coordinated_force(doc, end))
        return found

    def _coordinated_force(self, doc: Doc, end: int) -> Iterable[Candidate]:
        # "Afghan soldiers and police": the second group shares the affiliation.
        if end + 1 >= len(doc) or doc[end].lower_ not in ("and", "or"):
            return
        # Only a bare noun shares it: "forces and allied militias" names a
        # second party.
        token = doc[end + 1]
        if token.lower_ in self.coordinated_forces and not (
            token.dep_ in MODIFIER_DEPS and token.head.i > token.i
        ):
            yield Candidate(end + 1, end + 2, ACTOR, "patterns:forces", RANK_CURATED)

    # -- boundaries ------------------------------------------------------------
    @staticmethod
    def _split_possessives(doc: Doc, start: int, end: int) -> Iterable[tuple[int, int]]:
        # "Helmand province's Sangin" holds two names, and so do "Allied
        # Democratic Forces (ADF" and "Nigeria - Fighters" when the NER runs on.
        begin = start
        for index in range(start, end):
            token = doc[index]
            if (
                token.text in POSSESSIVES
                or token.tag_ == "POS"
                or token.text in BRACKETS
                or _after_spaced_dash(doc, index + 1)
            ):
                if index > begin:
                    yield begin, index
                begin = index + 1
        if begin < end:
            yield begin, end

    def _title_length(self, doc: Doc, index: int, end: int) -> int:
        first = doc[index].lower_.rstrip(".")
        if first not in self.titles and first not in self.title_first_words:
            return 0
        for words in self.multiword_titles:
            stop = index + len(words)
            if stop <= end and tuple(token.lower_.rstrip(".") for token in doc[index:stop]) == words:
                return len(words)
        token = doc[index]
        if token.lower_.rstrip(".") in self.titles:
            return 1
        return 0

    def _trim(self, doc: Doc, start: int, end: int, *, person: bool) -> tuple[int, int]:
        """Return the span without leading determiners, titles and edge punctuation."""
        while start < end:
            token = doc[start]
            if token.is_punct or token.is_space or token.lower_ in LEADING_WORDS:
                start += 1
            elif person and end - start > 1 and (size := self._title_length(doc, start, end)):
                start += size
            else:
                break
        while end > start:
            token = doc[end - 1]
            if (
                token.is_punct
                or token.is_space
                or token.text in POSSESSIVES
                or token.tag_ == "POS"
                or token.tag_ == "RB"
                and token.is_lower
            ):
                end -= 1  # "Hays district alone": an adverb ends no name
            else:
                break
        return start, end

    def _suffix_length(self, doc: Doc, end: int) -> int:
        if end >= len(doc) or doc[end].lower_ not in self.suffix_words:
            return 0
        for words in self.place_suffixes:
            stop = end + len(words)
            if stop <= len(doc) and tuple(token.lower_ for token in doc[end:stop]) == words:
                following = doc[stop] if stop < len(doc) else None
                if (
                    following is not None
                    and following.tag_ in PROPER_TAGS
                    and following.text[:1].isupper()
                    and following.lower_.rstrip(".") not in self.titles
                ):
                    return 0  # "the U.S. State Department"; not "Borno state Governor Babagana Zulum"
                return len(words)
        return 0

    def _extend(self, doc: Doc, candidate: Candidate) -> Candidate | None:
        start, end = candidate.start, candidate.end
        if candidate.label == LOCATION:
            entry = self.place_info.get(_key(doc[start:end]))
            if entry is None or entry["kind"] != "country":
                end += self._suffix_length(doc, end)  # "Helmand province", "Sangin district"
        elif candidate.label == ACTOR and candidate.ner_label == "PERSON":
            if end < len(doc) and doc[end].lower_ in self.person_institutions:
                end += 1  # "Obama administration"
            start = self._extend_name_left(doc, start)
        if candidate.label == ACTOR and candidate.ner_label != "PERSON":
            end = self._extend_group_noun(doc, end)  # "Boko Haram insurgents", "Fano militia fighters"
        if candidate.label == ACTOR and candidate.ner_label == "ORG":
            last = doc[end - 1].lower_
            if (
                end - start == 1
                and end < len(doc)
                and doc[end].lower_ in self.title_heads
                and last not in self.institution_heads
            ):
                return None  # "Defense" in "Defense Secretary Kelly Magsamen"
            if last in self.institution_heads:
                while start > 0 and self._is_affiliation(doc[start - 1]):
                    start -= 1  # "Afghan" + "Defense Ministry"
        candidate.start, candidate.end = start, end
        return candidate

    def _extend_group_noun(self, doc: Doc, end: int) -> int:
        stop = end
        while stop < len(doc) and (
            doc[stop].lower_ in self.force_modifiers or doc[stop].lower_ in self.group_nouns
        ):
            stop += 1
        while stop > end and doc[stop - 1].lower_ not in self.group_nouns:
            stop -= 1
        if stop == end:
            return end
        last = doc[stop - 1]
        if last.dep_ in MODIFIER_DEPS and last.head.i >= stop:
            return end  # "Taliban police checkpoints": the nouns modify another
        return stop

    def _is_affiliation(self, token) -> bool:
        if token.lower_ in self.non_affiliations:
            return False
        return token.ent_type_ in ("NORP", "GPE") or token.lower_ in self.demonyms

    def _extend_name_left(self, doc: Doc, start: int) -> int:
        # "Secretary-General Anders Fogh Rasmussen" where the NER saw only
        # "Fogh Rasmussen": capitalized words between a title and the name belong to it.
        index = start
        while index > 0 and start - index < 2:
            token = doc[index - 1]
            if (
                token.tag_ not in PROPER_TAGS
                or not token.is_title
                or token.ent_type_
                or token.lower_.rstrip(".") in self.titles
            ):
                break
            index -= 1
        if index < start and index > 0 and doc[index - 1].lower_.rstrip(".") in self.titles:
            return index
        return start

    def _reread_place(self, doc: Doc, candidate: Candidate) -> Candidate | None:
        """Read a country or capital as the ACTOR it stands for, or drop a country used as a modifier."""
        span = doc[candidate.start : candidate.end]
        entry = self.place_info.get(_key(span))
        if entry is None or entry["kind"] not in ("country", "capital"):
            return candidate
        # A dateline ("MOSCOW (AP) — Ukrainian drones attacked ...") is where
        # the report comes from, whatever the parse says.
        if _in_dateline(doc, candidate.start):
            return candidate  # "KHOST, Afghanistan - A suicide car bomber struck ..."
        if not (span.text.isupper() and all(token.is_alpha for token in span)):
            actor = self._metonymy(doc, candidate, span)
            if actor is not None:
                return actor
        root = span.root
        head = root.head
        following = doc[candidate.end] if candidate.end < len(doc) else None
        if (
            entry["kind"] == "country"
            and following is not None
            and following.tag_ in ("NN", "NNS")
            and not following.ent_type_
            and following.lower_ not in self.suffix_words
        ):
            return None  # "U.S. airstrikes", even where the parse hangs it elsewhere
        if entry["kind"] == "country" and root.dep_ in MODIFIER_DEPS and head.i >= candidate.end:
            # A parse across a line break (headline into caption) proves nothing.
            same_line = not any(token.is_space for token in doc[candidate.end : head.i])
            if same_line and head.lower_ not in self.suffix_words:
                return None  # "a U.S. military offensive": no place is meant
        return candidate

    def _metonymy(self, doc: Doc, candidate: Candidate, span: Span) -> Candidate | None:
        """Return the candidate as the ACTOR a place stands for ("talks with Washington"), or None."""
        end = candidate.end
        if (
            end + 1 < len(doc)
            and doc[end].text in ("-", "–")
            and doc[end + 1].lower_ in self.party_hyphen_words
        ):
            return self._as_actor(candidate)  # "Iran-backed Houthis", "Saudi-led coalition"
        root = span.root
        while root.dep_ == "conj" and root.head.i < root.i:
            root = root.head  # "backed by Russia and Iran"
        head = root.head
        if root.dep_ in ("nsubj", "nsubjpass") and head.lower_ in self.agent_verbs:
            return self._as_actor(candidate)
        if root.dep_ == "dobj" and head.lower_ in self.patient_verbs:
            return self._as_actor(candidate)  # "Kinshasa accuses Rwanda"
        if (
            root.dep_ == "pobj"
            and head.lower_ == "by"
            and (head.dep_ == "agent" or head.head.lower_ in self.agent_verbs)
        ):
            return self._as_actor(candidate)  # "backed by Russia"
        if root.dep_ == "pobj" and head.lower_ in self.party_preps and head.head.lower_ in self.party_nouns:
            return self._as_actor(candidate)  # "an agreement with Washington"
        if root.dep_ == "poss" and head.lower_ in self.party_nouns:
            return self._as_actor(candidate)  # "Kabul's decision"
        return None

    @staticmethod
    def _as_actor(candidate: Candidate) -> Candidate:
        candidate.label, candidate.source, candidate.rank = ACTOR, "rules:metonymy", RANK_CURATED
        return candidate

    def _is_agency(self, doc: Doc, candidate: Candidate) -> bool:
        text = doc[candidate.start : candidate.end].text
        return (
            text in self.agencies
            or text.rstrip("/") in self.agencies
            or text.lower().endswith(self.agency_suffixes)
        )

    def credit_tokens(self, doc: Doc) -> set[int]:
        """Return the token indices of bylines, photo credits and reporting notes."""
        blocked: set[int] = set()
        opened = None
        text = doc.text
        # Most texts hold no parenthesis and no credit line: skip the scans.
        parentheses = doc if "(" in text else ()
        for token in parentheses:
            if token.text == "(":
                opened = token.i
            elif token.text == ")" and opened is not None:
                inside = doc[opened + 1 : token.i]
                if token.i - opened <= 40 and self._is_credit(inside):
                    blocked.update(range(opened, token.i + 1))
                opened = None
        lower_text = text.lower()
        has_marker = any(marker in lower_text for marker in self.credit_markers)
        if (has_marker or "By " in text) and doc.has_annotation("SENT_START"):
            for sentence in doc.sents:
                lower = sentence.text.lower()
                if sentence[0].text == "By" and len(sentence) <= 12:
                    blocked.update(range(sentence.start, sentence.end))
                    continue
                for marker in self.credit_markers:
                    at = lower.find(marker)
                    if at >= 0:
                        blocked.update(self._line_tokens(sentence, at))
        return blocked

    @staticmethod
    def _line_tokens(sentence: Span, at: int) -> range:
        # A credit is its own line even where the parser runs it into the
        # sentence before ("... in Afghanistan.\n\nFollow @...").
        text = sentence.text
        begin = text.rfind("\n", 0, at) + 1
        stop = text.find("\n", at)
        stop = len(text) if stop < 0 else stop
        span = sentence.char_span(begin, stop, alignment_mode="expand")
        return range(span.start, span.end) if span is not None else range(sentence.start, sentence.end)

    def _is_credit(self, inside: Span) -> bool:
        for token in inside:
            text = token.text.strip("/")
            if text in self.agencies or token.lower_ in self.parenthesis_markers or "/" in token.text:
                return True
        return inside.text.strip() in self.agencies

    # -- overlaps --------------------------------------------------------------
    @staticmethod
    def select(candidates: list[Candidate], length: int) -> list[Candidate]:
        """Keep non-overlapping candidates: CASUALTY first, then longer, then better-ranked spans."""
        taken = [False] * length
        chosen = []
        order = sorted(candidates, key=lambda c: (c.label != CASUALTY, -(c.end - c.start), c.rank, c.start))
        for candidate in order:
            if candidate.start >= candidate.end or any(taken[candidate.start : candidate.end]):
                continue
            taken[candidate.start : candidate.end] = [True] * (candidate.end - candidate.start)
            chosen.append(candidate)
        return sorted(chosen, key=lambda c: c.start)


def _in_name(doc: Doc, index: int) -> bool:
    """Return whether the token at ``index`` has a capitalized proper-noun neighbour."""
    for neighbour in (index - 1, index + 1):
        if 0 <= neighbour < len(doc) and doc[neighbour].tag_ in PROPER_TAGS and doc[neighbour].is_title:
            return True
    return False


def _after_spaced_dash(doc: Doc, index: int) -> bool:
    """Return whether ``doc[index]`` follows a dash with space on both sides ("Nigeria - Fighters")."""
    return (
        index >= 2
        and doc[index - 1].text in DASHES
        and doc[index - 1].whitespace_
        and doc[index - 2].whitespace_ != ""
    )


def _in_dateline(doc: Doc, start: int) -> bool:
    """Return whether ``doc[start]`` follows the capitals of a dateline ("MAIDUGURI, Nigeria - ...")."""
    index = start - 1
    if index < 1 or doc[index].text != ",":
        return False
    index -= 1
    while index >= 0 and doc[index].is_upper and doc[index].is_alpha:
        index -= 1
    return index < start - 2 and (index < 0 or doc[index].is_space or "\n" in doc[index].whitespace_)


def _clean_edges(text: str) -> bool:
    """Return whether a span's text starts and ends with a letter or digit ("U.S." may end in a stop)."""
    if not text or not text[0].isalnum():
        return False
    return text[-1].isalnum() or (text[-1] == "." and len(text) > 1 and text[-2].isalnum())
