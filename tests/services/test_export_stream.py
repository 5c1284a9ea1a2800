"""The streamed export: checked first, then the very bytes `annotator export` writes, or a tar of its folder."""

from __future__ import annotations

import io
import tarfile

import pytest
from sqlmodel import Session

from annotator.cli import main
from annotator.services.export import ExportRefused
from annotator.services.export_stream import CHUNK_BYTES, ExportChanged, prepare
from annotator.services.formats import read_docbin
from tests.factories import make_article, make_span
from tests.test_cli_export import TEXT, add_gold


@pytest.fixture
def export_session(app):
    """A fresh session, as the web layer opens one for each export."""
    with Session(app.extensions["annotator.engine"], expire_on_commit=False) as session:
        yield session


def body(prepared) -> bytes:
    return b"".join(prepared.stream())


def cli_export(runner, path, *args):
    result = runner.invoke(main, ["export", "-o", str(path), *args])
    assert result.exit_code == 0, result.output
    return result


def members(data: bytes) -> dict[str, bytes | None]:
    """Return the tar's members: name -> bytes (None for a folder)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            member.name: (tar.extractfile(member).read() if member.isfile() else None)
            for member in tar.getmembers()
        }


def some_gold(db_session, count=6):
    for index in range(count):
        add_gold(db_session, f"g{index}", text=f"{TEXT} Day {index}.\n\nÜnal said “no”, {index}.")
    make_article(db_session, external_id="no-gold", text="Nothing here.")


@pytest.mark.parametrize("format_", ["jsonl", "conll", "csv"])
def test_the_stream_is_byte_identical_to_the_command_lines_file(
    runner, db_session, export_session, tmp_path, format_
):
    some_gold(db_session)
    out = tmp_path / f"gold.{format_}"
    cli = cli_export(runner, out, "--format", format_)
    prepared = prepare(export_session, "gold", format_)
    assert body(prepared) == out.read_bytes()
    assert prepared.filename == f"gold.{format_}" and not prepared.is_tar
    assert prepared.written == 6 and prepared.summary.selection.left_out == 1
    # The counts are those the command line prints, but for where the file went.
    assert prepared.summary.describe() == cli.stderr.strip().replace(str(out), f"gold.{format_}")


@pytest.mark.parametrize("format_", ["jsonl", "conll", "csv"])
def test_a_split_text_export_streams_a_tar_of_the_command_lines_folder(
    runner, db_session, export_session, tmp_path, format_
):
    some_gold(db_session)
    cli_export(runner, tmp_path / "split", "--format", format_, "--split", "dev=0.3", "--seed", "4")
    prepared = prepare(export_session, "gold", format_, dev=0.3, seed=4)
    assert prepared.filename == f"gold-{format_}.tar"
    assert members(body(prepared)) == {
        f"gold-{format_}": None,
        f"gold-{format_}/train.{format_}": (tmp_path / "split" / f"train.{format_}").read_bytes(),
        f"gold-{format_}/dev.{format_}": (tmp_path / "split" / f"dev.{format_}").read_bytes(),
    }
    assert prepared.summary.written == {"train": 4, "dev": 2}


def test_one_part_of_a_split_streams_that_file_alone(runner, db_session, export_session, tmp_path):
    some_gold(db_session)
    cli_export(runner, tmp_path / "split", "--split", "dev=0.3", "--seed", "4")
    prepared = prepare(export_session, "gold", "jsonl", dev=0.3, seed=4, part="dev")
    assert prepared.filename == "gold-dev.jsonl"
    assert body(prepared) == (tmp_path / "split" / "dev.jsonl").read_bytes()
    assert prepared.written == 2


def shard_docs(folder_or_members):
    """Return the documents of shards in order, as (id, text, spans)."""
    return [(d.id, d.text, d.spans) for data in folder_or_members for d in read_docbin(data)]


def test_a_docbin_export_streams_a_tar_of_the_shard_folder_that_spacy_loads(
    runner, db_session, export_session, tmp_path, monkeypatch
):
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Corpus

    monkeypatch.setattr("annotator.services.formats.SHARD_SIZE", 4)
    some_gold(db_session, count=9)
    cli_export(runner, tmp_path / "cli", "--format", "spacy")
    prepared = prepare(export_session, "gold", "spacy")
    assert (prepared.filename, prepared.media_type) == ("gold-spacy.tar", "application/x-tar")
    data = body(prepared)
    assert len(data) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == [
            "gold-spacy",
            "gold-spacy/000.spacy",
            "gold-spacy/001.spacy",
            "gold-spacy/002.spacy",
        ]
        tar.extractall(tmp_path / "downloaded", filter="data")
    folder = tmp_path / "downloaded" / "gold-spacy"
    vocab = spacy.blank("en").vocab
    assert [len(DocBin().from_disk(path)) for path in sorted(folder.iterdir())] == [4, 4, 1]
    assert sum(len(list(DocBin().from_disk(path).get_docs(vocab))) for path in folder.iterdir()) == 9
    examples = list(Corpus(folder)(spacy.blank("en")))
    assert sorted(example.reference.user_data["id"] for example in examples) == [f"g{i}" for i in range(9)]
    # The same documents, in the same shards, as the command line's folder.
    assert [path.name for path in sorted(folder.iterdir())] == [
        path.name for path in sorted((tmp_path / "cli").iterdir())
    ]
    for mine, theirs in zip(sorted(folder.iterdir()), sorted((tmp_path / "cli").iterdir()), strict=True):
        assert shard_docs([mine.read_bytes()]) == shard_docs([theirs.read_bytes()])


def test_a_split_docbin_export_streams_train_and_dev_shard_folders(
    runner, db_session, export_session, tmp_path
):
    import spacy
    from spacy.training import Corpus

    some_gold(db_session)
    cli_export(runner, tmp_path / "cli", "--format", "spacy", "--split", "dev=0.3", "--seed", "4")
    with tarfile.open(
        fileobj=io.BytesIO(body(prepare(export_session, "gold", "spacy", dev=0.3, seed=4)))
    ) as tar:
        assert tar.getnames() == [
            "gold-spacy",
            "gold-spacy/train",
            "gold-spacy/train/000.spacy",
            "gold-spacy/dev",
            "gold-spacy/dev/000.spacy",
        ]
        tar.extractall(tmp_path / "downloaded", filter="data")
    for part, count in (("train", 4), ("dev", 2)):
        folder = tmp_path / "downloaded" / "gold-spacy" / part
        assert len(list(Corpus(folder)(spacy.blank("en")))) == count
        assert shard_docs([(folder / "000.spacy").read_bytes()]) == shard_docs(
            [(tmp_path / "cli" / part / "000.spacy").read_bytes()]
        )


def test_misaligned_spans_refuse_the_export_before_any_byte(db_session, export_session):
    some_gold(db_session, count=2)
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    with pytest.raises(ExportRefused) as refused:
        prepare(export_session, "gold", "jsonl")
    [problem] = refused.value.summary.problems
    assert (problem.article, problem.start, problem.end) == ("bad", 0, 12)


def test_skip_misaligned_counts_the_articles_it_leaves_out(db_session, export_session):
    some_gold(db_session, count=2)
    bad = make_article(db_session, external_id="bad", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    prepared = prepare(export_session, "gold", "conll", skip_misaligned=True)
    assert prepared.summary.skipped == ["bad"] and prepared.written == 2
    assert body(prepared).count(b"-DOCSTART-") == 2


def test_text_is_sent_in_chunks_never_as_one_piece(db_session, export_session):
    for index in range(60):
        add_gold(db_session, f"g{index}", text=" ".join([TEXT] * 20))
    chunks = list(prepare(export_session, "gold", "jsonl").stream())
    one_document = max(len(line) for line in b"".join(chunks).splitlines())
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks) < CHUNK_BYTES * 4 + one_document * 4


def test_both_passes_read_one_snapshot_while_others_edit(db_session, export_session):
    some_gold(db_session, count=3)
    prepared = prepare(export_session, "gold", "jsonl")
    add_gold(db_session, "late", text=f"{TEXT} Late.")  # committed by another session
    assert [line[:12] for line in body(prepared).splitlines()] == [
        b'{"id": "g0",',
        b'{"id": "g1",',
        b'{"id": "g2",',
    ]


def test_the_stream_stops_when_the_documents_changed_between_the_passes(db_session, export_session):
    some_gold(db_session, count=3)
    export_session.connection()  # a transaction already begun: prepare takes no snapshot
    prepared = prepare(export_session, "gold", "jsonl")
    add_gold(db_session, "late", text=f"{TEXT} Late.")
    with pytest.raises(ExportChanged, match="4 documents where 3 were counted"):
        body(prepared)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format_": "xml"}, "format must be one of"),
        ({"dev": 1.5}, "dev fraction"),
        ({"part": "dev"}, "needs a split"),
        ({"dev": 0.2, "part": "test"}, "part must be train or dev"),
        ({"origin": "annotators", "format_": "spacy"}, "JSONL only"),
        ({"origin": "nobody"}, "origin must be"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(db_session, export_session, options, message):
    arguments = {"origin": "gold", "format_": "jsonl", **options}
    with pytest.raises(ValueError, match=message):
        prepare(export_session, arguments.pop("origin"), arguments.pop("format_"), **arguments)
