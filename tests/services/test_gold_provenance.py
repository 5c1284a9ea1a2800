"""Provenance of adjudicated gold spans: kept with each revision, read, exported, imported, never compared."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import delete, func, text
from sqlmodel import select

from annotator.errors import BadImport
from annotator.models import AnnotationState, Article, GoldAction, GoldRevision, Span
from annotator.services import dashboard, gold_revisions
from annotator.services.evaluate import evaluate_sources
from annotator.services.export import export_to
from annotator.services.formats import ShardList, read_conll, read_docbin
from annotator.services.gold import iter_documents
from annotator.services.importer import import_paths
from annotator.services.origins import parse_origin
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
BOTH = {"annotators": ["ann", "bob"], "changed": False}
CHANGED = {"annotators": ["bob"], "changed": True}
ADJUDICATED = [
    {"start": 0, "end": 16, "label": "ACTOR", "provenance": BOTH},
    {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE, "provenance": CHANGED},
    {"start": 41, "end": 57, "label": "LOCATION"},  # no provenance: as gold has had so far
]


def adjudicate(session, article_id, spans=ADJUDICATED, **options):
    revision = gold_revisions.record_revision(
        session, article_id, spans, action=GoldAction.ADJUDICATE, source="adjudication", **options
    )
    session.commit()
    return revision


def gold_rows(session, article_id):
    session.expire_all()
    return session.exec(
        select(Span.start, Span.label, Span.provenance)
        .where(Span.article_id == article_id, Span.origin == "gold")
        .order_by(Span.start)
    ).all()


def revision_spans(session, article_id):
    session.expire_all()
    return session.exec(
        select(GoldRevision.spans)
        .where(GoldRevision.article_id == article_id)
        .order_by(GoldRevision.revision)
    ).all()


def export_jsonl(session, origin="gold"):
    with io.StringIO() as out:
        export_to(session, parse_origin(session, origin), {"all": out})
        return out.getvalue()


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


# --- revisions ------------------------------------------------------------------------------


def test_a_revision_and_the_gold_spans_keep_each_spans_provenance(session):
    article = make_article(session, text=TEXT)
    adjudicate(session, article.id)
    assert gold_rows(session, article.id) == [
        (0, "ACTOR", BOTH),
        (24, "CASUALTY", CHANGED),
        (41, "LOCATION", None),
    ]
    [spans] = revision_spans(session, article.id)
    assert spans == [
        {"start": 0, "end": 16, "label": "ACTOR", "attrs": {}, "provenance": BOTH},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE, "provenance": CHANGED},
        {"start": 41, "end": 57, "label": "LOCATION", "attrs": {}},
    ]
    # A span without provenance leaves the column SQL NULL, as every gold span before it.
    assert session.execute(text("SELECT count(*) FROM span WHERE provenance IS NULL")).scalar_one() == 1


def test_snapshot_copies_provenance_and_leaves_spans_without_it_unchanged():
    given = {"start": 0, "end": 7, "label": "ACTOR", "provenance": {"annotators": ["ann"], "changed": False}}
    [kept, plain] = gold_revisions.snapshot(
        [given, {"start": 8, "end": 16, "label": "ACTOR", "provenance": None}]
    )
    assert kept["provenance"] == given["provenance"] and kept["provenance"] is not given["provenance"]
    given["provenance"]["annotators"].append("bob")
    assert kept["provenance"] == {"annotators": ["ann"], "changed": False}
    assert plain == {"start": 8, "end": 16, "label": "ACTOR", "attrs": {}}


def test_restoring_an_older_revision_brings_back_its_provenance(session):
    reviewer = make_user(session, username="rev", role="reviewer")
    article = make_article(session, text=TEXT)
    adjudicate(session, article.id)
    again = [{**span, "provenance": {"annotators": [], "changed": True}} for span in ADJUDICATED[:2]]
    adjudicate(session, article.id, again)
    assert [row[2] for row in gold_rows(session, article.id)] == [{"annotators": [], "changed": True}] * 2
    change, revision = gold_revisions.restore(session, article.id, reviewer, 1, reason=None, replaces=2)
    assert revision.revision == 3
    assert gold_rows(session, article.id) == [
        (0, "ACTOR", BOTH),
        (24, "CASUALTY", CHANGED),
        (41, "LOCATION", None),
    ]
    assert revision_spans(session, article.id)[2] == revision_spans(session, article.id)[0]
    # Provenance alone is no change of gold: only offsets, labels and attributes are compared.
    diff = gold_revisions.compare(TEXT, ADJUDICATED, [{**span, "provenance": None} for span in ADJUDICATED])
    assert diff.is_empty


# --- reading and exporting ------------------------------------------------------------------


def test_reading_gold_gives_provenance_on_the_spans_that_have_it(session):
    article = make_article(session, text=TEXT)
    adjudicate(session, article.id)
    [document] = iter_documents(session, parse_origin(session, "gold"))
    assert [span.get("provenance") for span in document.spans] == [BOTH, CHANGED, None]
    assert document.to_gold()["spans"] == [
        {"start": 0, "end": 16, "label": "ACTOR", "provenance": BOTH},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE, "provenance": CHANGED},
        {"start": 41, "end": 57, "label": "LOCATION"},
    ]


def test_jsonl_export_writes_provenance_on_the_span_never_in_meta(session):
    article = make_article(session, text=TEXT, meta={"source": "wire"})
    adjudicate(session, article.id)
    [record] = map(json.loads, export_jsonl(session).splitlines())
    assert record["meta"] == {"source": "wire", "id": "a1"}
    assert "provenance" not in record
    actor, casualty, location = record["spans"]
    assert list(actor) == ["start", "end", "token_start", "token_end", "label", "provenance"]
    assert actor["provenance"] == BOTH
    assert (casualty["attrs"], casualty["provenance"]) == (NINE, CHANGED)
    assert "provenance" not in location


@pytest.mark.parametrize("format_", ["spacy", "conll", "csv"])
def test_other_formats_are_the_same_with_or_without_provenance(session, format_):
    article = make_article(session, text=TEXT)

    def exported():
        out = ShardList() if format_ == "spacy" else io.StringIO(newline="")
        export_to(session, parse_origin(session, "gold"), {"all": out}, format_=format_)
        return out.take()[0][1] if format_ == "spacy" else out.getvalue()

    adjudicate(session, article.id)
    with_provenance = exported()
    adjudicate(session, article.id, [{**span, "provenance": None} for span in ADJUDICATED])
    without = exported()
    if format_ == "spacy":
        [one], [other] = read_docbin(with_provenance), read_docbin(without)
        assert (one.id, one.spans) == (other.id, other.spans)
        assert [span["label"] for span in one.spans] == ["ACTOR", "CASUALTY", "LOCATION"]
    else:
        assert with_provenance == without
        if format_ == "conll":
            assert ("Taliban", "B-ACTOR") in read_conll(with_provenance)[0]
        else:
            assert "nine soldiers" in with_provenance


def test_an_annotators_version_matches_gold_whatever_its_provenance(session):
    ann = make_user(session, username="ann")
    article = make_article(session, text=TEXT)
    for span in ADJUDICATED:
        make_span(
            session, article, origin="annotator", owner=ann, **{k: span[k] for k in ("start", "end", "label")},
            attrs=span.get("attrs"),
        )  # fmt: skip
    session.add(AnnotationState(article_id=article.id, user_id=ann.id, status="accepted", version=1))
    session.commit()
    adjudicate(session, article.id)
    gold = dashboard.strict_figures(session, [ann.id]).of(ann.id)[2]
    assert gold == 1.0
    assert evaluate_sources(session, "gold", "annotator:ann").micro["strict"].f1 == 1.0


# --- importing ------------------------------------------------------------------------------


def test_importing_gold_keeps_provenance_in_the_revision_and_the_spans(session, tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", {"id": "a1", "text": TEXT, "spans": ADJUDICATED})
    import_paths(session, [path], origin="gold")
    article = session.exec(select(Article)).one()
    assert gold_rows(session, article.id) == [
        (0, "ACTOR", BOTH),
        (24, "CASUALTY", CHANGED),
        (41, "LOCATION", None),
    ]
    assert [span.get("provenance") for span in revision_spans(session, article.id)[0]] == [
        BOTH,
        CHANGED,
        None,
    ]
    assert article.meta == {}
    assert session.execute(text("SELECT count(*) FROM span WHERE provenance IS NULL")).scalar_one() == 1


def test_importing_more_gold_keeps_the_stored_spans_provenance(session, tmp_path):
    article = make_article(session, text=TEXT)
    adjudicate(session, article.id, ADJUDICATED[:2])
    more = {"id": "a1", "text": TEXT, "spans": [{"start": 41, "end": 57, "label": "LOCATION"}]}
    assert import_paths(session, [write_jsonl(tmp_path / "more.jsonl", more)]).gold_revisions == 1
    assert [span.get("provenance") for span in revision_spans(session, article.id)[1]] == [
        BOTH,
        CHANGED,
        None,
    ]
    assert gold_rows(session, article.id) == [
        (0, "ACTOR", BOTH),
        (24, "CASUALTY", CHANGED),
        (41, "LOCATION", None),
    ]


@pytest.mark.parametrize("origin", ["model", "annotator:ann"])
def test_other_origins_drop_provenance_even_when_it_is_malformed(session, tmp_path, origin):
    make_user(session, username="ann")
    spans = [*ADJUDICATED[:2], {**ADJUDICATED[2], "provenance": "not an object"}]
    path = write_jsonl(tmp_path / "spans.jsonl", {"id": "a1", "text": TEXT, "spans": spans})
    assert import_paths(session, [path], origin=origin).spans_added == 3
    assert session.exec(select(Span.provenance)).all() == [None, None, None]
    assert session.exec(select(Article.meta)).one() == {}
    assert session.exec(select(func.count()).select_from(GoldRevision)).one() == 0


@pytest.mark.parametrize(
    ("provenance", "problem"),
    [
        (None, "span 1: provenance must be an object with \"annotators\""),
        (["ann"], "span 1: provenance must be an object with \"annotators\" (a list of usernames)"),
        ({"annotators": ["ann"]}, "span 1: provenance has no 'changed'"),
        ({"annotators": "ann", "changed": False}, "span 1: provenance.annotators must be a list of usernames, not a string"),
        ({"annotators": ["ann", 7], "changed": False}, "span 1: provenance.annotators[1] must be a username (a string), not a number"),
        ({"annotators": [], "changed": "no"}, "span 1: provenance.changed must be true or false, not a string"),
        ({"annotators": [], "changed": 0}, "span 1: provenance.changed must be true or false, not a number"),
        ({**BOTH, "reviewer": "rev"}, "span 1: provenance has an unknown field 'reviewer'"),
    ],
)  # fmt: skip
def test_bad_provenance_in_gold_is_refused_naming_file_line_and_field(session, tmp_path, provenance, problem):
    good = {"id": "good", "text": TEXT, "spans": ADJUDICATED}
    spans = [ADJUDICATED[0], {**ADJUDICATED[1], "provenance": provenance}]
    path = write_jsonl(tmp_path / "gold.jsonl", good, {"id": "bad", "text": TEXT, "spans": spans})
    with pytest.raises(BadImport) as caught:
        import_paths(session, [path], origin="gold")
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    assert problem in caught.value.message
    assert str(caught.value).startswith(f"{path}:2: span 1: provenance")
    for table in (Article, Span, GoldRevision):
        assert session.exec(select(func.count()).select_from(table)).one() == 0


def test_a_gold_export_imports_back_and_exports_byte_identically(session, tmp_path):
    first = make_article(session, external_id="a1", text=TEXT, meta={"source": "wire", "date": "2014-06-01"})
    second = make_article(session, external_id="a2", text="Nine soldiers died in Kabul.")
    adjudicate(session, first.id)
    adjudicate(session, second.id, [{"start": 0, "end": 13, "label": "CASUALTY", "attrs": NINE,
                                     "provenance": {"annotators": [], "changed": True}}])  # fmt: skip
    exported = tmp_path / "gold.jsonl"
    exported.write_text(export_jsonl(session), encoding="utf-8")
    # Into an empty database, as another annotator instance would read it.
    session.execute(delete(Article))
    session.commit()
    import_paths(session, [exported], origin="gold")
    assert export_jsonl(session).encode("utf-8") == exported.read_bytes()
    assert b'"provenance": {"annotators": ["ann", "bob"], "changed": false}' in exported.read_bytes()
