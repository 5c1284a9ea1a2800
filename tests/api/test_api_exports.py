"""GET /api/v1/export: the command line's file streamed, counts in headers, 422 JSON for misaligned spans."""

from __future__ import annotations

import io
import tarfile
from urllib.parse import unquote

import pytest

from annotator.cli import main
from annotator.services.audit import list_events
from annotator.services.formats import SUFFIXES, read_docbin
from tests.factories import make_article, make_span
from tests.test_cli_export import TEXT, add_gold


def gold_corpus(db_session, count=4):
    for index in range(count):
        add_gold(db_session, f"g{index}", text=f"{TEXT} Day {index}.")
    make_article(db_session, external_id="no-gold", text="Nothing here.")


@pytest.mark.parametrize("format_", ["jsonl", "conll", "csv", "tally"])
def test_the_api_export_is_byte_identical_to_the_command_lines(
    client, runner, api_token, db_session, tmp_path, format_
):
    gold_corpus(db_session)
    name = f"gold{SUFFIXES[format_]}"
    out = tmp_path / name
    assert runner.invoke(main, ["export", "--format", format_, "-o", str(out)]).exit_code == 0
    response = client.get(f"/api/v1/export?origin=gold&format={format_}", headers=api_token("reviewer"))
    assert response.status_code == 200, response.data[:300]
    assert response.is_streamed
    assert response.get_data() == out.read_bytes()
    assert (response.headers["X-Export-Written"], response.headers["X-Export-Left-Out"]) == ("4", "1")
    assert unquote(response.headers["X-Export-Summary"]).startswith(f"Wrote 4 articles with gold to {name}.")


def test_the_api_sends_spacy_shards_as_a_tar(client, api_token, db_session):
    gold_corpus(db_session)
    response = client.get("/api/v1/export?format=spacy", headers=api_token("admin"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="gold-spacy.tar"'
    with tarfile.open(fileobj=io.BytesIO(response.get_data())) as tar:
        assert tar.getnames() == ["gold-spacy", "gold-spacy/000.spacy"]
        documents = read_docbin(tar.extractfile("gold-spacy/000.spacy").read())
    assert [document.id for document in documents] == ["g0", "g1", "g2", "g3"]


def test_one_part_of_a_split(client, runner, api_token, db_session, tmp_path):
    gold_corpus(db_session)
    runner.invoke(main, ["export", "--split", "dev=0.5", "--seed", "3", "-o", str(tmp_path / "split")])
    response = client.get("/api/v1/export?dev=0.5&seed=3&part=train", headers=api_token("reviewer"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="gold-train.jsonl"'
    assert response.get_data() == (tmp_path / "split" / "train.jsonl").read_bytes()
    assert response.headers["X-Export-Written"] == response.headers["X-Export-Written-Train"] == "2"


def test_misaligned_spans_give_422_json_listing_each(client, api_token, db_session):
    gold_corpus(db_session)
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    response = client.get("/api/v1/export?format=conll", headers=api_token("reviewer"))
    assert response.status_code == 422
    assert response.json["error"].startswith("Nothing was exported: 1 span(s) in 1 article(s)")
    assert response.json["details"] == [
        "bad: [0, 12) ACTOR 'Bashar Assad': does not start and end at token boundaries "
        "(the tokens it touches: 'Bashar Assads')"
    ]
    assert list_events(db_session, action="export.").events == []


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("format=xml", 422, "format"),
        ("dev=1", 422, "dev"),
        ("part=dev", 422, "needs a split"),
        ("origin=annotator:nobody", 404, None),
        ("origin=annotators&format=csv", 422, "JSONL only"),
    ],
)
def test_bad_queries_get_json_errors(client, api_token, query, status, detail):
    response = client.get(f"/api/v1/export?{query}", headers=api_token("reviewer"))
    assert response.status_code == status
    assert set(response.json) == {"error", "details"}
    if detail:
        assert any(detail in line for line in response.json["details"]), response.json


def test_api_exports_are_audited(client, api_token, db_session):
    gold_corpus(db_session)
    client.get("/api/v1/export?format=csv", headers=api_token("reviewer", "rita")).get_data()
    [event] = list_events(db_session, action="export.").events
    assert (event.action, event.actor_name, event.target) == ("export.api", "rita", "gold")
    assert (event.details["format"], event.details["written"], event.details["left_out"]) == (
        "csv",
        {"all": 4},
        1,
    )
