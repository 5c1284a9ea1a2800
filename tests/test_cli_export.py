"""`annotator export`: formats, the gold it picks, splits, standard output, and misaligned spans."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from annotator.cli import main
from annotator.models import AnnotationState
from annotator.services.formats import DOCSTART, read_docbin
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def add_gold(session, external_id, text=TEXT):
    article = make_article(session, external_id=external_id, text=text)
    make_span(session, article, start=0, end=16, label="ACTOR")
    make_span(session, article, start=24, end=37, label="CASUALTY", attrs=NINE)
    make_span(session, article, start=41, end=57, label="LOCATION")
    return article


@pytest.mark.parametrize("format_", ["spacy", "jsonl", "conll", "csv"])
def test_export_writes_each_format_and_counts_what_it_left_out(runner, db_session, tmp_path, format_):
    add_gold(db_session, "g1")
    make_article(db_session, external_id="no-gold", text="Nothing here.")
    out = tmp_path / f"gold.{format_}"
    result = runner.invoke(main, ["export", "--format", format_, "-o", str(out)])
    assert result.exit_code == 0, result.output
    # A DocBin export is a folder of shards.
    shown = f"{out}{os.sep}" if format_ == "spacy" else str(out)
    assert f"Wrote 1 article with gold to {shown}." in result.stderr
    assert "Left out 1 article without gold." in result.stderr
    if format_ == "spacy":
        assert sorted(path.name for path in out.iterdir()) == ["000.spacy"]
        [document] = read_docbin((out / "000.spacy").read_bytes())
        assert [(span["start"], span["label"], span["attrs"]) for span in document.spans] == [
            (0, "ACTOR", {}),
            (24, "CASUALTY", NINE),
            (41, "LOCATION", {}),
        ]
    elif format_ == "jsonl":
        assert json.loads(out.read_text(encoding="utf-8"))["spans"][1]["attrs"] == NINE
    elif format_ == "conll":
        assert out.read_text(encoding="utf-8").startswith(
            f"{DOCSTART}\n\nTaliban B-ACTOR\nfighters I-ACTOR\n"
        )
    else:
        [row] = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
        assert (row["text"], row["count"], row["actors"], row["locations"]) == (
            "nine soldiers",
            "9",
            "Taliban fighters",
            "Helmand province",
        )


def test_gold_export_takes_the_one_accepted_version(runner, db_session, tmp_path):
    ann = make_user(db_session, username="ann")
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    db_session.add(AnnotationState(article_id=article.id, user_id=ann.id, status="accepted"))
    db_session.commit()
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(main, ["export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "from the one accepted version for 1" in result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["spans"][0]["end"] == 7


def test_export_refuses_spans_off_token_boundaries_and_writes_nothing(runner, db_session, tmp_path):
    add_gold(db_session, "good")
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    make_span(db_session, bad, start=29, end=33, label="LOCATION")
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "gold.spacy"
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", str(out)])
    assert result.exit_code == 1
    assert "Nothing was exported: 1 span in 1 article cannot be written as stored." in result.output
    assert (
        "bad: [0, 12) ACTOR 'Bashar Assad': does not start and end at token boundaries "
        "(the tokens it touches: 'Bashar Assads')"
    ) in result.output
    assert list(out.parent.iterdir()) == []


def test_skip_misaligned_leaves_out_whole_articles_and_lists_them(runner, db_session, tmp_path):
    add_gold(db_session, "good")
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    make_span(db_session, bad, start=29, end=33, label="LOCATION")
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(main, ["export", "-o", str(out), "--skip-misaligned"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["good"]
    assert "Left out 1 article with spans that do not align:" in result.stderr
    assert "bad: [0, 12) ACTOR 'Bashar Assad'" in result.stderr


def test_split_writes_train_and_dev_files_the_same_way_for_a_seed(runner, db_session, tmp_path):
    for index in range(10):
        add_gold(db_session, f"g{index}", text=f"{TEXT} {index}")

    def split(folder, seed):
        result = runner.invoke(
            main,
            ["export", "--format", "jsonl", "-o", str(folder), "--split", "dev=0.2", "--seed", str(seed)],
        )
        assert result.exit_code == 0, result.output
        assert f"2 articles to {folder / 'dev.jsonl'}" in result.stderr
        return {
            part: [json.loads(line)["id"] for line in (folder / f"{part}.jsonl").read_text().splitlines()]
            for part in ("train", "dev")
        }

    first = split(tmp_path / "one", 3)
    assert len(first["train"]) == 8 and len(first["dev"]) == 2
    assert sorted(first["train"] + first["dev"]) == sorted(f"g{index}" for index in range(10))
    assert split(tmp_path / "two", 3) == first
    assert any(split(tmp_path / f"seed{seed}", seed) != first for seed in range(4, 8))


@pytest.mark.parametrize("value", ["dev=0", "dev=1", "test=0.2", "0.2", "dev=x"])
def test_split_needs_a_dev_fraction(runner, tmp_path, value):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "out"), "--split", value])
    assert result.exit_code == 2
    assert "expected dev=FRACTION" in result.output


def test_export_to_standard_output(runner, db_session):
    add_gold(db_session, "g1")
    result = runner.invoke(main, ["export", "--format", "conll", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(DOCSTART)
    assert "Wrote 1 article with gold to standard output." in result.stderr


def test_a_docbin_needs_a_file(runner):
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", "-"])
    assert result.exit_code == 2
    assert "not '-'" in result.output


def test_a_refused_export_prints_nothing_on_standard_output(runner, db_session):
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    result = runner.invoke(main, ["export", "-o", "-"])
    assert result.exit_code == 1
    assert result.stdout == ""


def test_export_of_every_annotators_accepted_versions(runner, db_session, tmp_path):
    ann, bob, cat = (make_user(db_session, username=name) for name in ("ann", "bob", "cat"))
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_span(db_session, article, start=0, end=16, label="ACTOR", origin="annotator", owner=ann)
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=bob)
    make_span(db_session, article, start=41, end=48, label="LOCATION", origin="annotator", owner=cat)
    for user, status in ((ann, "accepted"), (bob, "accepted"), (cat, "in_progress")):
        db_session.add(AnnotationState(article_id=article.id, user_id=user.id, status=status))
    db_session.commit()
    out = tmp_path / "versions.jsonl"
    result = runner.invoke(main, ["export", "--origin", "annotators", "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["annotator"], [(s["start"], s["end"]) for s in r["spans"]]) for r in records] == [
        ("a1", "ann", [(0, 16)]),
        ("a1", "bob", [(0, 7)]),
    ]  # cat's version is not accepted
    assert "Wrote 2 accepted versions of 1 article." in result.stderr


@pytest.mark.parametrize("args", [["--format", "spacy"], ["--split", "dev=0.5"]])
def test_export_of_every_annotator_is_jsonl_only(runner, db_session, tmp_path, args):
    result = runner.invoke(main, ["export", "--origin", "annotators", *args, "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "it exports JSONL only, without --split" in result.output


def test_gold_with_provenance_imports_and_exports_back_unchanged(runner, db_session, tmp_path):
    both = {"annotators": ["ann", "bob"], "changed": False}
    record = {
        "id": "a1",
        "text": TEXT,
        "spans": [
            {"start": 0, "end": 16, "label": "ACTOR", "provenance": both},
            {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE},
        ],
    }
    source = tmp_path / "adjudicated.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert runner.invoke(main, ["import", "--origin", "gold", str(source)]).exit_code == 0
    first, again = tmp_path / "first.jsonl", tmp_path / "again.jsonl"
    assert runner.invoke(main, ["export", "-o", str(first)]).exit_code == 0
    [exported] = map(json.loads, first.read_text(encoding="utf-8").splitlines())
    assert [span.get("provenance") for span in exported["spans"]] == [both, None]
    assert exported["meta"] == {"id": "a1"}
    # The export read back changes nothing, and exports the same bytes.
    result = runner.invoke(main, ["import", "--origin", "gold", str(first)])
    assert "0 spans added" in result.output
    assert runner.invoke(main, ["export", "-o", str(again)]).exit_code == 0
    assert again.read_bytes() == first.read_bytes()


# --- DocBin shards ---------------------------------------------------------------------


def shard_ids(folder):
    """Return each shard's name and the ids of its documents."""
    return [
        (path.name, [document.id for document in read_docbin(path.read_bytes())])
        for path in sorted(folder.iterdir())
    ]


def test_a_docbin_export_is_a_folder_of_shards_that_spacy_reads_as_one_corpus(
    runner, db_session, tmp_path, monkeypatch
):
    import spacy
    from spacy.training import Corpus

    monkeypatch.setattr("annotator.services.formats.SHARD_SIZE", 2)
    for index in range(5):
        add_gold(db_session, f"g{index}", text=f"{TEXT} {index}")
    out = tmp_path / "corpus"
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert shard_ids(out) == [
        ("000.spacy", ["g0", "g1"]),
        ("001.spacy", ["g2", "g3"]),
        ("002.spacy", ["g4"]),
    ]
    examples = list(Corpus(out)(spacy.blank("en")))
    assert sorted(example.reference.user_data["id"] for example in examples) == [f"g{i}" for i in range(5)]
    assert all(len(example.reference.ents) == 3 for example in examples)


def test_a_split_docbin_export_writes_train_and_dev_shard_folders(runner, db_session, tmp_path):
    for index in range(10):
        add_gold(db_session, f"g{index}", text=f"{TEXT} {index}")
    out = tmp_path / "corpus"
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", str(out), "--split", "dev=0.2"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == ["dev", "train"]
    [(_, train)] = shard_ids(out / "train")
    [(_, dev)] = shard_ids(out / "dev")
    assert len(train) == 8 and len(dev) == 2
    assert sorted(train + dev) == sorted(f"g{index}" for index in range(10))
    assert f"8 articles to {out / 'train'}{os.sep}, 2 articles to {out / 'dev'}{os.sep}." in result.stderr


def test_a_docbin_export_replaces_an_earlier_exports_folder_or_file(runner, db_session, tmp_path):
    add_gold(db_session, "g1")
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "000.spacy").write_bytes(b"old")
    (out / "007.spacy").write_bytes(b"stale shard of a bigger export")
    assert runner.invoke(main, ["export", "--format", "spacy", "-o", str(out)]).exit_code == 0
    assert shard_ids(out) == [("000.spacy", ["g1"])]
    # A file from before shards existed (one DocBin) gives way to the folder too.
    single = tmp_path / "gold.spacy"
    single.write_bytes(b"one DocBin")
    assert runner.invoke(main, ["export", "--format", "spacy", "-o", str(single)]).exit_code == 0
    assert shard_ids(single) == [("000.spacy", ["g1"])]
    # Nothing is left behind: no temporary folder, no old folder moved aside.
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith("test.sqlite3")) == [
        "corpus",
        "gold.spacy",
    ]


def test_a_docbin_export_never_replaces_a_folder_holding_other_files(runner, db_session, tmp_path):
    add_gold(db_session, "g1")
    out = tmp_path / "project"
    out.mkdir()
    (out / "config.cfg").write_text("[nlp]\n")
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", str(out)])
    assert result.exit_code == 1
    assert "holding other files than .spacy shards" in result.output
    assert [path.name for path in out.iterdir()] == ["config.cfg"]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_a_refused_docbin_export_leaves_no_folder(runner, db_session, tmp_path):
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    out = tmp_path / "exports" / "corpus"
    result = runner.invoke(main, ["export", "--format", "spacy", "-o", str(out)])
    assert result.exit_code == 1
    assert list(out.parent.iterdir()) == []


def test_the_command_line_export_is_in_the_audit_log(runner, db_session, tmp_path):
    from annotator.services.audit import COMMAND_LINE, list_events

    add_gold(db_session, "g1")
    make_article(db_session, external_id="no-gold", text="Nothing here.")
    out = tmp_path / "gold.csv"
    assert runner.invoke(main, ["export", "--format", "csv", "-o", str(out)]).exit_code == 0
    [event] = list_events(db_session, action="export.").events
    assert (event.action, event.actor_name, event.target) == ("export.cli", COMMAND_LINE, "gold")
    assert event.details["format"] == "csv"
    assert (event.details["written"], event.details["left_out"]) == ({"all": 1}, 1)
    assert event.details["output"] == str(out)
