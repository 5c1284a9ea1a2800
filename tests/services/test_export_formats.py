"""Each export format written and read back; misaligned spans reported; sentences, CoNLL and CSV columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import delete

from annotator.labels import CASUALTY, GROUPS, LABELS, OUTCOMES, QUALIFIERS, spans_errors
from annotator.models import Article
from annotator.services.export import export_to
from annotator.services.formats import (
    CSV_COLUMNS,
    DOCSTART,
    ConllWriter,
    CsvWriter,
    DocBinShards,
    JsonlWriter,
    ShardList,
    blank_pipeline,
    conll_spans,
    make_doc,
    read_conll,
    read_docbin,
    set_sentences,
    spans_by_key,
)
from annotator.services.gold import Document
from annotator.services.importer import import_paths
from annotator.services.origins import parse_origin
from tests.conftest import DATA

SEED_GOLD = sorted(DATA.glob("*.jsonl"))
WORDS = [
    "Taliban", "fighters", "killed", "nine", "soldiers", "in", "Helmand", "province", "U.S.-led",
    "forces", "Assads", "Kabul's", "“We", "said.”", "–", "(AP)", "35", "1,000", "Zwak,", "don't",
    "Ünal", "東京", "🙂", "e-mail", "Dr.", "Mr", ".", "?", "!", "KANDAHAR,",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", " \n", "\t", "\xa0"]
# Built now: building it seeds the random module, which Hypothesis forbids inside a strategy.
blank_pipeline()


def seed_documents() -> list[Document]:
    return [
        Document(item["id"], item["text"], item["spans"])
        for path in SEED_GOLD
        for item in map(json.loads, path.read_text(encoding="utf-8").splitlines())
    ]


@st.composite
def documents(draw, *, id_=None) -> Document:
    """A text of words and whitespace, with non-overlapping spans on spaCy's token boundaries."""
    words = draw(
        st.lists(
            st.one_of(
                st.sampled_from(WORDS),
                st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=8),
            ),
            min_size=1,
            max_size=30,
        )
    )
    text = draw(st.sampled_from(["", "\n", " "]))
    for word in words:
        text += word + draw(st.sampled_from(SEPARATORS))
    tokens = [token for token in blank_pipeline().make_doc(text)]
    spans = []
    index = draw(st.integers(0, 2))
    while index < len(tokens):
        length = draw(st.integers(1, 4))
        chosen = tokens[index : index + length]
        while chosen and chosen[-1].is_space:
            chosen.pop()
        if chosen and not chosen[0].is_space and draw(st.booleans()):
            label = draw(st.sampled_from(LABELS))
            span = {
                "start": chosen[0].idx,
                "end": chosen[-1].idx + len(chosen[-1]),
                "label": label,
                "attrs": {},
            }
            if label == CASUALTY:
                span["attrs"] = {
                    "count": draw(st.one_of(st.none(), st.integers(0, 10_000))),
                    "qualifier": draw(st.sampled_from(QUALIFIERS)),
                    "outcome": draw(st.sampled_from(OUTCOMES)),
                    "group": draw(st.sampled_from(GROUPS)),
                }
            spans.append(span)
        index += max(length, 1) + draw(st.integers(0, 3))
    assert spans_errors(text, spans) == []
    return Document(id_ or draw(st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)), text, spans)


def write(writer_class, pairs):
    """Return what the writer wrote; for DocBin shards, the one shard's bytes."""
    out = ShardList() if writer_class is DocBinShards else io.StringIO()
    writer = writer_class(out)
    for document, doc in pairs:
        writer.write(document, doc)
    writer.finish()
    if writer_class is DocBinShards:
        [(name, data)] = out.take()
        assert name == "000.spacy"
        return data
    return out.getvalue()


def aligned(documents_):
    problems = []
    pairs = [(document, make_doc(document, problems)) for document in documents_]
    assert problems == []
    return pairs


# --- round trips -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=4, unique_by=lambda document: document.id))
def test_docbin_keeps_texts_spans_and_attributes(generated):
    read = read_docbin(write(DocBinShards, aligned(generated)))
    assert [(document.id, document.text) for document in read] == [
        (document.id, document.text) for document in generated
    ]
    for back, document in zip(read, generated, strict=True):
        assert spans_by_key(back.spans) == spans_by_key(document.spans)


def test_docbin_docs_carry_spans_as_ents_and_in_sc_with_attrs_readable_as_extension():
    from spacy.tokens import DocBin

    import annotator.nlp  # noqa: F401  (registers Span._.attrs)

    data = write(DocBinShards, aligned(seed_documents()))
    docs = list(DocBin().from_bytes(data).get_docs(blank_pipeline().vocab))
    for doc, document in zip(docs, seed_documents(), strict=True):
        assert [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents] == [
            (span["start"], span["end"], span["label"]) for span in document.spans
        ]
        assert [(span.start, span.end, span.label_) for span in doc.spans["sc"]] == [
            (ent.start, ent.end, ent.label_) for ent in doc.ents
        ]
        assert [ent._.attrs for ent in doc.ents if ent.label_ == CASUALTY] == [
            span["attrs"] for span in document.spans if span["label"] == CASUALTY
        ]


def shards_of(pairs, **limits) -> list[tuple[str, list[str]]]:
    out = ShardList()
    writer = DocBinShards(out, **limits)
    for document, doc in pairs:
        writer.write(document, doc)
    writer.finish()
    return [(name, [document.id for document in read_docbin(data)]) for name, data in out.take()]


def test_docbin_shards_hold_at_most_shard_size_documents_in_order():
    pairs = aligned(Document(f"d{index}", f"Kabul attack {index}.", []) for index in range(5))
    assert shards_of(pairs, shard_size=2) == [
        ("000.spacy", ["d0", "d1"]),
        ("001.spacy", ["d2", "d3"]),
        ("002.spacy", ["d4"]),
    ]


def test_docbin_shards_close_before_passing_the_token_bound_unless_one_document_is_longer():
    # Four tokens each (Kabul, attack, 0, .); the long one has nine.
    pairs = aligned(
        [
            Document("a", "Kabul attack 0.", []),
            Document("b", "Kabul attack 1.", []),
            Document("long", "one two three four five six seven eight nine", []),
            Document("c", "Kabul attack 2.", []),
        ]
    )
    assert [len(doc) for _, doc in pairs] == [4, 4, 9, 4]
    assert shards_of(pairs, shard_tokens=8) == [
        ("000.spacy", ["a", "b"]),
        ("001.spacy", ["long"]),
        ("002.spacy", ["c"]),
    ]


def test_shards_read_back_the_same_docs_as_a_docbin_of_every_attribute():
    # Shards store fewer token attributes than spaCy's default, to save memory; nothing read back differs.
    from spacy.tokens import DocBin

    docs = [doc for _, doc in aligned(seed_documents())]
    vocab = blank_pipeline().vocab
    every = list(DocBin(store_user_data=True, docs=docs).get_docs(vocab))
    shard = list(DocBin().from_bytes(write(DocBinShards, aligned(seed_documents()))).get_docs(vocab))
    for ours, full in zip(shard, every, strict=True):
        assert ours.to_json() == full.to_json()
        assert ours.user_data == full.user_data
        assert [token.norm_ for token in ours] == [token.norm_ for token in full]
        assert [(span.start, span.end, span.label_) for span in ours.spans["sc"]] == [
            (span.start, span.end, span.label_) for span in full.spans["sc"]
        ]
        for attribute in ("TAG", "POS", "MORPH", "LEMMA", "DEP", "SENT_START", "ENT_IOB"):
            assert ours.has_annotation(attribute) == full.has_annotation(attribute)
    assert any(token.norm_ != token.lower_ for doc in shard for token in doc)  # "Aug." -> "August"


def test_an_empty_docbin_export_still_gets_one_empty_shard():
    assert shards_of([]) == [("000.spacy", [])]


@settings(max_examples=60, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=4, unique_by=lambda document: document.id))
def test_conll_round_trip_gives_the_same_spans(generated):
    articles = read_conll(write(ConllWriter, aligned(generated)))
    assert len(articles) == len(generated)
    for pairs, document in zip(articles, generated, strict=True):
        assert [
            (span["start"], span["end"], span["label"]) for span in conll_spans(document.text, pairs)
        ] == [(span["start"], span["end"], span["label"]) for span in document.spans]


def test_conll_is_read_by_spacy_convert():
    from spacy.training.converters import conll_ner_to_docs

    pairs = aligned(seed_documents())
    text = write(ConllWriter, pairs)
    converted = list(conll_ner_to_docs(text, n_sents=0, no_print=True))
    assert len(converted) == len(pairs)
    for doc, (_, ours) in zip(converted, pairs, strict=True):
        assert [(ent.label_, [token.text for token in ent]) for ent in doc.ents] == [
            (ent.label_, [token.text for token in ent if not token.is_space]) for ent in ours.ents
        ]


def test_conll_layout():
    document = Document("a1", "KABUL\nNine soldiers died. Taliban fighters fled.", [])
    document.spans = [
        {"start": 0, "end": 5, "label": "LOCATION"},
        {"start": 6, "end": 19, "label": "CASUALTY"},
        {"start": 26, "end": 42, "label": "ACTOR"},
    ]
    text = write(ConllWriter, aligned([document]))
    assert text.split("\n") == [
        DOCSTART, "",
        "KABUL B-LOCATION", "",
        "Nine B-CASUALTY", "soldiers I-CASUALTY", "died O", ". O", "",
        "Taliban B-ACTOR", "fighters I-ACTOR", "fled O", ". O", "",
        "",
    ]  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=st.lists(documents(), min_size=1, max_size=4, unique_by=lambda document: document.id))
def test_jsonl_export_imports_back_with_identical_spans_and_attributes(session, tmp_path, generated):
    session.exec(delete(Article))
    session.commit()
    source = tmp_path / "source.jsonl"
    source.write_text(
        "".join(json.dumps(document.to_gold(), ensure_ascii=False) + "\n" for document in generated),
        encoding="utf-8",
    )
    import_paths(session, [source], origin="gold")
    exported = tmp_path / "exported.jsonl"
    with exported.open("w", encoding="utf-8", newline="") as out:
        export_to(session, parse_origin(session, "gold"), {"all": out})
    # Into an empty database, as another annotator instance would read it.
    session.exec(delete(Article))
    session.commit()
    if exported.read_text(encoding="utf-8"):
        import_paths(session, [exported], origin="gold")
    with io.StringIO() as again:
        export_to(session, parse_origin(session, "gold"), {"all": again})
        lines = again.getvalue().splitlines()
    back = {item["id"]: item for item in map(json.loads, lines)}
    # Every record says "spans", so every article has gold, an empty one included.
    expected = generated
    assert sorted(back) == sorted(document.id for document in expected)
    for document in expected:
        assert back[document.id]["text"] == document.text
        assert spans_by_key(back[document.id]["spans"]) == spans_by_key(document.spans)


# --- JSONL: Prodigy's task fields -------------------------------------------------------


def test_jsonl_lines_are_prodigy_tasks():
    pairs = aligned(seed_documents())
    lines = write(JsonlWriter, pairs).splitlines()
    for line, (document, _) in zip(lines, pairs, strict=True):
        task = json.loads(line)
        assert list(task) == ["id", "text", "spans", "tally", "tokens", "answer", "meta"]
        assert task["answer"] == "accept" and task["meta"] == {"id": document.id}
        tokens = task["tokens"]
        assert [token["id"] for token in tokens] == list(range(len(tokens)))
        assert "".join(token["text"] + " " * token["ws"] for token in tokens) == document.text
        assert all(document.text[token["start"] : token["end"]] == token["text"] for token in tokens)
        for span in task["spans"]:
            assert tokens[span["token_start"]]["start"] == span["start"]
            assert tokens[span["token_end"]]["end"] == span["end"]
        assert [
            {key: span[key] for key in span if not key.startswith("token_")} for span in task["spans"]
        ] == [document.to_gold()["spans"][index] for index in range(len(document.spans))]


def test_jsonl_meta_keeps_article_metadata_but_not_old_task_fields():
    document = Document("a1", "Kabul.", [], meta={"url": "http://x", "tokens": [], "answer": "reject"})
    [line] = write(JsonlWriter, aligned([document])).splitlines()
    assert json.loads(line)["meta"] == {"url": "http://x", "id": "a1"}


# --- misaligned spans -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "span", "reason"),
    [
        ("Bashar Assads forces.", (0, 12, "ACTOR"), "does not start and end at token boundaries (the tokens it touches: 'Bashar Assads')"),
        ("The Taliban said.", (3, 11, "ACTOR"), "does not start and end at token boundaries"),
        ("KABUL\n\nTaliban", (5, 14, "ACTOR"), "starts or ends with a whitespace token"),
    ],
)  # fmt: skip
def test_a_span_off_token_boundaries_is_reported_not_moved(text, span, reason):
    start, end, label = span
    problems = []
    document = Document("a1", text, [{"start": start, "end": end, "label": label}])
    assert make_doc(document, problems) is None
    [problem] = problems
    assert (problem.article, problem.start, problem.end, problem.label) == ("a1", start, end, label)
    assert problem.text == text[start:end]
    assert reason in problem.reason
    assert str(problem).startswith(f"a1: [{start}, {end}) {label} {text[start:end]!r}: ")


def test_overlapping_spans_are_reported():
    problems = []
    spans = [{"start": 0, "end": 7, "label": "ACTOR"}, {"start": 0, "end": 16, "label": "ACTOR"}]
    assert make_doc(Document("a1", "Taliban fighters fled.", spans), problems) is None
    assert [problem.reason for problem in problems] == ["overlaps ACTOR 'Taliban'"]


# --- sentences and CSV ------------------------------------------------------------------


def test_sentences_break_at_line_breaks_and_never_inside_a_span():
    text = "KABUL, Afghanistan\nTaliban attacked. U.S. forces said.\n\nMore"
    document = Document("a1", text, [{"start": 37, "end": 48, "label": "ACTOR"}])
    doc = make_doc(document, [])
    set_sentences(doc)
    assert [sentence.text.strip() for sentence in doc.sents] == [
        "KABUL, Afghanistan",
        "Taliban attacked.",
        "U.S. forces said.",
        "More",
    ]


def test_csv_has_one_row_per_casualty_with_the_actors_and_locations_of_its_sentence():
    text = "Taliban fighters killed nine soldiers in Helmand province. NATO said 3 civilians died in Kabul."
    nine = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
    three = {"count": None, "qualifier": "vague", "outcome": "killed", "group": "civilian"}
    spans = [
        {"start": 0, "end": 16, "label": "ACTOR"},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": nine},
        {"start": 41, "end": 57, "label": "LOCATION"},
        {"start": 59, "end": 63, "label": "ACTOR"},
        {"start": 69, "end": 80, "label": "CASUALTY", "attrs": three},
        {"start": 89, "end": 94, "label": "LOCATION"},
    ]
    data = write(CsvWriter, aligned([Document("a1", text, spans), Document("a2", "Nothing.", [])]))
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0] == list(CSV_COLUMNS) == [
        "article_id", "start", "end", "text", "count", "qualifier", "outcome", "group",
        "sentence", "actors", "locations",
    ]  # fmt: skip
    assert rows[1:] == [
        ["a1", "24", "37", "nine soldiers", "9", "exact", "killed", "security",
         "Taliban fighters killed nine soldiers in Helmand province.", "Taliban fighters", "Helmand province"],
        ["a1", "69", "80", "3 civilians", "", "vague", "killed", "civilian",
         "NATO said 3 civilians died in Kabul.", "NATO", "Kabul"],
    ]  # fmt: skip


def test_csv_of_the_seed_gold_has_a_row_per_casualty_span():
    pairs = aligned(seed_documents())
    rows = list(csv.DictReader(io.StringIO(write(CsvWriter, pairs))))
    expected = [
        (document.id, span["start"])
        for document, _ in pairs
        for span in document.spans
        if span["label"] == CASUALTY
    ]
    assert [(row["article_id"], int(row["start"])) for row in rows] == expected
    texts = {document.id: document.text for document, _ in pairs}
    for row in rows:
        assert row["text"] in row["sentence"]
        assert row["sentence"] in texts[row["article_id"]]
        for actor in filter(None, row["actors"].split("; ")):
            assert actor in row["sentence"]
