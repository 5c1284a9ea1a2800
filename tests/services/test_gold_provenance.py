"""Provenance of adjudicated gold spans: kept with each revision, read, exported, imported, never compared."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from annotator.models import AnnotationState, GoldAction, GoldRevision, Span
from annotator.services import dashboard, gold_revisions
from annotator.services.evaluate import evaluate_sources
from annotator.services.export import export_to
from annotator.services.formats import read_conll, read_docbin
from annotator.services.gold import iter_documents
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
        out = io.BytesIO() if format_ == "spacy" else io.StringIO(newline="")
        export_to(session, parse_origin(session, "gold"), {"all": out}, format_=format_)
        return out.getvalue()

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
