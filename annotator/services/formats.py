"""Turn documents into spaCy docs and write them as a DocBin, Prodigy-style JSONL, CoNLL, casualty CSV or tally CSV.

Every format starts from the same ``Doc``: the text run through the
tokenizer of ``spacy.blank("en")`` (the rule-based tokenizer en_core_web_sm
uses, without loading a model) with the spans set as ``doc.ents``. A span
that does not start and end on token boundaries, starts or ends with a
whitespace token, or overlaps another is reported as a SpanProblem and its
document is not written: it is never dropped from the document or moved to
the nearest tokens.

A DocBin export is a folder of shards (``000.spacy``, ``001.spacy``...),
which ``spacy train`` reads as one corpus. In each, ``doc.user_data["id"]``
holds the article's id and the casualty attributes sit where
``Span._.attrs`` keeps them, so ``read_docbin`` gets back exactly what was
exported.

Sentences (CoNLL and CSV) come from spaCy's rule-based ``sentencizer`` with
two additions: a line break starts a new sentence (headlines and datelines
carry no full stop), and no sentence boundary falls inside a span. Taking
the sentences of en_core_web_sm's parser instead was 18 times slower on the
articles of bench/export.py.
"""

from __future__ import annotations

import csv
import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from annotator.labels import ACTOR, CASUALTY, CASUALTY_ATTRIBUTES, LOCATION
from annotator.services.gold import Document

# Where spaCy keeps ``Span._.attrs`` (registered by annotator.nlp.extensions) for a
# span of these character offsets. Written directly, so that an export does not
# import the pipeline's components; a DocBin saved with user data keeps it, and
# ``ent._.attrs`` reads it back once annotator.nlp is imported.
ATTRS_KEY = "._."
ID_KEY = "id"
# A DocBin shard holds at most this many documents...
SHARD_SIZE = 10_000
# ... and at most this many tokens, unless one document alone has more.
SHARD_TOKENS = 1_000_000
# What a DocBin stores of each token besides its text and whitespace (always stored): the
# norms the tokenizer's exceptions set ("Aug." -> "August") and the entities. The blank
# tokenizer sets nothing else, and each attribute costs 8 bytes per token while a shard is
# built (spaCy's default list has 13, the others all empty here); the docs read back are
# the same as with the default list.
DOCBIN_ATTRS = ("NORM", "ENT_IOB", "ENT_TYPE")
DOCSTART = "-DOCSTART- -X- O O"
# The blank pipeline's vocabulary is replaced once it holds this many strings (about 30 MB).
MAX_STRINGS = 100_000
CSV_COLUMNS = (
    "article_id",
    "start",
    "end",
    "text",
    *CASUALTY_ATTRIBUTES,
    "sentence",
    "actors",
    "locations",
)
# Separates several ACTOR or LOCATION spans in one CSV cell.
CSV_JOIN = "; "
# Task fields of Prodigy that an article's stored metadata may hold from an
# earlier import of this format; they are rebuilt, not copied into "meta".
PRODIGY_FIELDS = frozenset(
    {
        "tokens",
        "spans",
        "answer",
        "meta",
        "_input_hash",
        "_task_hash",
        "_view_id",
        "_session_id",
        "_timestamp",
    }
)


_blank: list = []  # the current blank pipeline, once built


def blank_pipeline():
    """Return ``spacy.blank("en")`` with a sentencizer, built once per process (and anew by ``make_doc``)."""
    if not _blank:
        _blank.append(_build_blank_pipeline())
    return _blank[0]


def _build_blank_pipeline():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _pipeline_for_a_new_doc():
    """Return the blank pipeline, replaced first once its vocabulary holds ``MAX_STRINGS`` strings.

    A vocabulary keeps every string it has tokenized, with its lexeme (about
    330 bytes each): over a million articles, with their names, numbers and
    typos, that grows by gigabytes. A fresh pipeline takes about 70 ms to build;
    the docs of the old one keep it alive until they are written. Replacing it,
    unlike a spaCy memory zone, never frees strings another thread's doc still
    reads.
    """
    nlp = blank_pipeline()
    if len(nlp.vocab.strings) >= MAX_STRINGS:
        nlp = _build_blank_pipeline()
        _blank[:] = [nlp]
    return nlp


def attrs_key(start: int, end: int) -> tuple[str, str, int, int]:
    """Return the ``doc.user_data`` key of ``Span._.attrs`` for a span of these offsets."""
    return (ATTRS_KEY, "attrs", start, end)


@dataclass(frozen=True)
class SpanProblem:
    """A span that cannot be written as it is, and why."""

    article: str
    start: int
    end: int
    label: str
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.article}: [{self.start}, {self.end}) {self.label} {self.text!r}: {self.reason}"


def make_doc(document: Document, problems: list[SpanProblem]):
    """Return ``document`` as a Doc with its spans as ``doc.ents``, or None after adding its problems."""
    doc = _pipeline_for_a_new_doc().make_doc(document.text)
    ents = []
    found = len(problems)
    for item in document.spans:
        start, end, label = item["start"], item["end"], item["label"]
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        reason = None
        if span is None:
            nearest = doc.char_span(start, end, alignment_mode="expand")
            reason = "does not start and end at token boundaries" + (
                f" (the tokens it touches: {nearest.text!r})" if nearest is not None else ""
            )
        elif span[0].is_space or span[-1].is_space:
            reason = "starts or ends with a whitespace token"
        elif ents and span.start < ents[-1].end:
            reason = f"overlaps {ents[-1].label_} {ents[-1].text!r}"
        if reason:
            problems.append(SpanProblem(document.id, start, end, label, document.text[start:end], reason))
            continue
        ents.append(span)
        attrs = item.get("attrs")
        if attrs:
            doc.user_data[attrs_key(start, end)] = dict(attrs)
    if len(problems) > found:
        return None
    doc.ents = ents
    doc.spans["sc"] = ents
    doc.user_data[ID_KEY] = document.id
    return doc


def set_sentences(doc) -> None:
    """Mark sentence starts: the sentencizer's, plus after line breaks, never inside an entity."""
    blank_pipeline().get_pipe("sentencizer")(doc)
    after_break = False
    for token in doc:
        if token.is_space:
            if token.i:
                token.is_sent_start = False
            after_break = after_break or "\n" in token.text
        else:
            if after_break:
                token.is_sent_start = True
            after_break = False
    for ent in doc.ents:
        for token in ent[1:]:
            token.is_sent_start = False


# --- writers: each takes (document, doc) pairs, then finish() ------------------------


class DocBinShards:
    """Collect docs into DocBins (with user data, so casualty attributes travel), handing on each full one.

    A shard closes at ``SHARD_SIZE`` documents or ``SHARD_TOKENS`` tokens,
    whichever comes first: building a DocBin holds every token of it in memory
    several times over, so the token bound keeps that memory the same however
    long the articles are. ``out.add(name, data)`` receives each shard as it
    closes, named ``000.spacy``, ``001.spacy``...; an export with no document
    still gets one (empty) shard, so that its folder is never empty.
    """

    binary = True
    sharded = True

    def __init__(self, out, *, shard_size: int | None = None, shard_tokens: int | None = None) -> None:
        self.out = out
        self.shard_size = shard_size or SHARD_SIZE
        self.shard_tokens = shard_tokens or SHARD_TOKENS
        self.shards = 0
        self._start()

    def _start(self) -> None:
        from spacy.tokens import DocBin

        self.docbin = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
        self.tokens = 0

    def write(self, document: Document, doc) -> None:
        if len(self.docbin) and (
            len(self.docbin) >= self.shard_size or self.tokens + len(doc) > self.shard_tokens
        ):
            self._close_shard()
        self.docbin.add(doc)
        self.tokens += len(doc)

    def finish(self) -> None:
        if len(self.docbin) or not self.shards:
            self._close_shard()

    def _close_shard(self) -> None:
        data = self.docbin.to_bytes()
        self._start()
        self.out.add(shard_name(self.shards), data)
        self.shards += 1


def shard_name(number: int) -> str:
    """Return the file name of a DocBin shard: ``000.spacy`` for the first."""
    return f"{number:03d}.spacy"


class ShardList:
    """Keep the shards a DocBinShards writer hands on, in order, as (name, bytes) pairs."""

    def __init__(self) -> None:
        self.shards: list[tuple[str, bytes]] = []

    def add(self, name: str, data: bytes) -> None:
        self.shards.append((name, data))

    def take(self) -> list[tuple[str, bytes]]:
        """Return the shards added since the last call, and forget them."""
        taken, self.shards = self.shards, []
        return taken


class JsonlWriter:
    """Write the gold format plus Prodigy's task fields and the article's tally, one article a line."""

    binary = False
    # The tally reads the article's stored cues: the reader fetches them a chunk at a time.
    needs_cues = True

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, document: Document, doc) -> None:
        self.out.write(json.dumps(prodigy_task(document, doc), ensure_ascii=False) + "\n")

    def finish(self) -> None:
        pass


def prodigy_task(document: Document, doc) -> dict[str, Any]:
    """Return the JSONL record of one document: gold fields, its tally, then Prodigy's tokens, answer and meta.

    A gold span's ``provenance`` goes on the span, after its attributes, never into ``meta``.
    ``tally`` is the tally of the spans written (GUIDELINES.md, "Article tally").
    """
    provenance = {
        (span["start"], span["end"]): span["provenance"]
        for span in document.spans
        if span.get("provenance") is not None
    }
    spans = []
    for ent in doc.ents:
        item = {
            "start": ent.start_char,
            "end": ent.end_char,
            "token_start": ent.start,
            # Prodigy's token_end is the last token's index, not one past it.
            "token_end": ent.end - 1,
            "label": ent.label_,
        }
        attrs = doc.user_data.get(attrs_key(ent.start_char, ent.end_char))
        if attrs:
            item["attrs"] = attrs
        if (ent.start_char, ent.end_char) in provenance:
            item["provenance"] = provenance[ent.start_char, ent.end_char]
        spans.append(item)
    meta = {key: value for key, value in document.meta.items() if key not in PRODIGY_FIELDS}
    meta["id"] = document.id
    whose = (
        {}
        if document.annotator is None
        else {"annotator": document.annotator, "_annotator_id": document.annotator}
    )
    return {
        "id": document.id,
        "text": document.text,
        **whose,
        "spans": spans,
        "tally": _tally(document).to_json(),
        "tokens": [
            {
                "text": token.text,
                "start": token.idx,
                "end": token.idx + len(token),
                "id": token.i,
                "ws": bool(token.whitespace_),
            }
            for token in doc
        ],
        "answer": "accept",
        "meta": meta,
    }


class ConllWriter:
    """Write CoNLL-2003 style: "-DOCSTART- -X- O O" before each article, "token TAG" lines (IOB2).

    Whitespace tokens are left out; a blank line ends each sentence. ``spacy
    convert -c ner`` reads the result.
    """

    binary = False

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, document: Document, doc) -> None:
        set_sentences(doc)
        lines = [DOCSTART, ""]
        for sentence in doc.sents:
            words = [
                f"{token.text} {token.ent_iob_}-{token.ent_type_}"
                if token.ent_iob_ != "O"
                else f"{token.text} O"
                for token in sentence
                if not token.is_space
            ]
            if words:
                lines.extend(words)
                lines.append("")
        self.out.write("\n".join(lines) + "\n")

    def finish(self) -> None:
        pass


class CsvWriter:
    """Write one row per CASUALTY span with its attributes, sentence, and the sentence's ACTOR and LOCATION spans."""

    binary = False

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, document: Document, doc) -> None:
        if not any(ent.label_ == CASUALTY for ent in doc.ents):
            return
        set_sentences(doc)
        sentences = list(doc.sents)
        starts = [sentence.start for sentence in sentences]
        # Entities by sentence; an entity never crosses a boundary (set_sentences).
        inside: list[list] = [[] for _ in sentences]
        for ent in doc.ents:
            inside[bisect_right(starts, ent.start) - 1].append(ent)
        for sentence, ents in zip(sentences, inside, strict=True):
            for ent in ents:
                if ent.label_ != CASUALTY:
                    continue
                attrs = doc.user_data.get(attrs_key(ent.start_char, ent.end_char)) or {}
                self.writer.writerow(
                    [
                        document.id,
                        ent.start_char,
                        ent.end_char,
                        ent.text,
                        *("" if attrs.get(name) is None else attrs[name] for name in CASUALTY_ATTRIBUTES),
                        sentence.text.strip(),
                        CSV_JOIN.join(other.text for other in ents if other.label_ == ACTOR),
                        CSV_JOIN.join(other.text for other in ents if other.label_ == LOCATION),
                    ]
                )

    def finish(self) -> None:
        pass


class TallyCsvWriter:
    """Write one row per article: its tally (GUIDELINES.md, "Article tally") and the spans it rests on.

    A group's cell is empty when no figure of that group was given. ``span_ids``
    are the positions (from 0) of the spans the totals rest on in the
    article's ``spans``, as the JSONL export of the same origin lists them.
    """

    binary = False
    needs_cues = True

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(tally_columns())

    def write(self, document: Document, doc) -> None:
        from annotator.nlp.tally import GROUPS, OUTCOMES

        result = _tally(document)
        row: list[Any] = [document.id]
        for outcome in OUTCOMES:
            part = result[outcome]
            row += [part.total, _boolean(part.lower_bound), _boolean(part.reported)]
            row += [part.by_group.get(group, "") for group in GROUPS]
        row.append(" ".join(str(span_id) for span_id in result.span_ids))
        self.writer.writerow(row)

    def finish(self) -> None:
        pass


def tally_columns() -> list[str]:
    """Return the tally CSV's header: id, per outcome its total, lower bound, reported and groups, span_ids."""
    from annotator.nlp.tally import GROUPS, OUTCOMES

    names = ("total", "lower_bound", "reported", *GROUPS)
    return ["id", *(f"{outcome}_{name}" for outcome in OUTCOMES for name in names), "span_ids"]


def _tally(document: Document):
    # Imported here: annotator.nlp's package imports spaCy, which an app that never exports need not load.
    from annotator.services.tallies import tally_of

    return tally_of(document.spans, document.text, document.cues)


def _boolean(value: bool) -> str:
    return "true" if value else "false"


WRITERS = {
    "spacy": DocBinShards,
    "jsonl": JsonlWriter,
    "conll": ConllWriter,
    "csv": CsvWriter,
    "tally": TallyCsvWriter,
}
SUFFIXES = {"spacy": ".spacy", "jsonl": ".jsonl", "conll": ".conll", "csv": ".csv", "tally": ".tally.csv"}


# --- readers, for checking an export and for sources of evaluation --------------------


def read_docbin(data: bytes) -> list[Document]:
    """Return the documents of one DocBin shard written by DocBinShards (spans from ``doc.ents``)."""
    from spacy.tokens import DocBin

    documents = []
    for index, doc in enumerate(DocBin().from_bytes(data).get_docs(blank_pipeline().vocab)):
        spans = [
            {
                "start": ent.start_char,
                "end": ent.end_char,
                "label": ent.label_,
                "attrs": dict(doc.user_data.get(attrs_key(ent.start_char, ent.end_char)) or {}),
            }
            for ent in doc.ents
        ]
        documents.append(Document(str(doc.user_data.get(ID_KEY, index)), doc.text, spans))
    return documents


def read_conll(text: str) -> list[list[tuple[str, str]]]:
    """Return the (token, tag) pairs of each article of a CoNLL file, sentences joined."""
    articles: list[list[tuple[str, str]]] = []
    for line in text.split("\n"):
        if line == DOCSTART:
            articles.append([])
        elif line.strip():
            word, tag = line.rsplit(" ", 1)
            articles[-1].append((word, tag))
    return articles


def conll_spans(text: str, pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Return the spans of one CoNLL article as character offsets into its original ``text``.

    Tokens are found in order in ``text``; only whitespace may lie between them.
    """
    spans: list[dict[str, Any]] = []
    position = 0
    current: dict[str, Any] | None = None
    for word, tag in pairs:
        start = text.index(word, position)
        if text[position:start].strip():
            raise ValueError(f"token {word!r} is not the next token of the text at offset {position}")
        position = start + len(word)
        if tag.startswith("I-") and current is not None and current["label"] == tag[2:]:
            current["end"] = position
            continue
        if current is not None:
            spans.append(current)
            current = None
        if tag != "O":
            current = {"start": start, "end": position, "label": tag[2:]}
    if current is not None:
        spans.append(current)
    return spans


def spans_by_key(spans: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, str, dict[str, Any]]]:
    """Return spans as sorted (start, end, label, attrs) tuples, for comparing two versions."""
    return sorted(
        ((span["start"], span["end"], span["label"], dict(span.get("attrs") or {})) for span in spans),
        key=lambda item: item[:3],
    )
