"""The admin export page: a form, then the command line's file as a streamed download, counts in headers."""

from __future__ import annotations

import io
import tarfile
from urllib.parse import unquote

import pytest

from annotator.cli import main
from annotator.models import AnnotationState
from annotator.services.audit import list_events
from annotator.services.formats import SUFFIXES, read_docbin
from tests.factories import make_article, make_span, make_user
from tests.test_cli_export import TEXT, add_gold
from tests.web.conftest import TEST_CSRF


@pytest.fixture
def admin(client, auth):
    auth.login("boss", role="admin")
    return client


def corpus(db_session, count=5):
    """Gold for ``count`` articles, one article without gold, one waiting for adjudication."""
    for index in range(count):
        add_gold(db_session, f"g{index}", text=f"{TEXT} Day {index}.\n\nÜnal said “no”.")
    make_article(db_session, external_id="no-gold", text="Nothing here.")
    waiting = make_article(db_session, external_id="twice", text="Accepted twice.")
    for name in ("ann", "bob"):
        user = make_user(db_session, username=name)
        db_session.add(AnnotationState(article_id=waiting.id, user_id=user.id, status="accepted"))
    db_session.commit()


def download(client, **fields):
    return client.post("/admin/export/download", data={"csrf_token": TEST_CSRF, **fields})


def test_the_page_offers_every_origin_and_format(admin, db_session):
    make_user(db_session, username="ann")
    page = admin.get("/admin/export/").get_data(as_text=True)
    for origin in ("gold", "model", "annotators", "annotator:ann", "annotator:boss"):
        assert f'<option value="{origin}"' in page
    for format_ in ("jsonl", "spacy", "conll", "csv", "tally"):
        assert f'name="format" value="{format_}"' in page
    assert 'action="/admin/export/download"' in page


@pytest.mark.parametrize("format_", ["jsonl", "conll", "csv", "tally"])
def test_the_download_is_the_command_lines_file_with_its_counts_in_headers(
    admin, runner, db_session, tmp_path, format_
):
    corpus(db_session)
    name = f"gold{SUFFIXES[format_]}"
    out = tmp_path / name
    cli = runner.invoke(main, ["export", "--format", format_, "-o", str(out)])
    response = download(admin, origin="gold", format=format_, split="none")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.get_data() == out.read_bytes()
    assert response.headers["X-Export-Written"] == "5"
    assert response.headers["X-Export-Left-Out"] == "1"
    assert response.headers["X-Export-Waiting-For-Adjudication"] == "1"
    assert response.headers["X-Export-Skipped-Misaligned"] == "0"
    summary = unquote(response.headers["X-Export-Summary"])
    assert summary == cli.stderr.strip().replace(str(out), name)
    assert "Left out 1 article waiting for adjudication" in summary


def test_a_download_is_audited_with_its_counts(admin, db_session):
    corpus(db_session)
    download(admin, origin="gold", format="conll", split="dev", dev="0.4", seed="2").get_data()
    [event] = list_events(db_session, action="export.").events
    assert (event.action, event.actor_name, event.target) == ("export.download", "boss", "gold")
    assert event.details["format"] == "conll"
    assert event.details["written"] == {"train": 3, "dev": 2}
    assert (event.details["left_out"], event.details["waiting_for_adjudication"]) == (1, 1)
    assert (event.details["dev"], event.details["seed"]) == (0.4, 2)


def test_a_split_spacy_download_is_a_tar_of_train_and_dev_shards(admin, runner, db_session, tmp_path):
    corpus(db_session)
    runner.invoke(main, ["export", "--format", "spacy", "--split", "dev=0.4", "-o", str(tmp_path / "cli")])
    response = download(admin, origin="gold", format="spacy", split="dev", dev="0.4", seed="0")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-tar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="gold-spacy.tar"'
    assert (response.headers["X-Export-Written-Train"], response.headers["X-Export-Written-Dev"]) == (
        "3",
        "2",
    )
    with tarfile.open(fileobj=io.BytesIO(response.get_data())) as tar:
        for part in ("train", "dev"):
            shard = tar.extractfile(f"gold-spacy/{part}/000.spacy").read()
            cli = (tmp_path / "cli" / part / "000.spacy").read_bytes()
            assert [(d.id, d.spans) for d in read_docbin(shard)] == [
                (d.id, d.spans) for d in read_docbin(cli)
            ]


def test_misaligned_spans_give_422_with_the_list_and_no_file(admin, db_session):
    corpus(db_session)
    bad = make_article(db_session, external_id="bad/1", text="Bashar Assads forces shelled Homs.")
    make_span(db_session, bad, start=0, end=12, label="ACTOR")
    response = download(admin, origin="gold", format="spacy", split="none")
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert "Nothing was exported" in page
    assert "[0, 12) ACTOR “Bashar Assad”: does not start and end at token boundaries" in page
    assert 'href="/articles/bad%2F1"' in page
    assert list_events(db_session, action="export.").events == []
    # Leaving such articles out is one tick away.
    response = download(admin, origin="gold", format="jsonl", split="none", skip_misaligned="1")
    assert response.status_code == 200
    assert response.headers["X-Export-Skipped-Misaligned"] == "1"
    assert len(response.get_data().splitlines()) == 5


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"split": "dev", "dev": "1.5"}, "The dev fraction must be a number between 0 and 1"),
        ({"split": "dev", "dev": "0.2", "seed": "x"}, "The seed must be a whole number"),
        ({"format": "xml"}, "Format must be one of"),
        ({"origin": "annotator:nobody"}, "No user named &#39;nobody&#39;"),
        ({"origin": "annotators", "format": "spacy"}, "it exports JSONL only"),
    ],
)
def test_a_bad_choice_is_answered_on_the_page(admin, db_session, fields, message):
    response = download(admin, **{"origin": "gold", "format": "jsonl", "split": "none", **fields})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_a_long_export_streams_in_pieces_and_frees_its_connection(admin, app, db_session):
    for index in range(40):
        add_gold(db_session, f"g{index:02d}", text=" ".join([TEXT] * 30))
    engine = app.extensions["annotator.engine"]
    response = download(admin, origin="gold", format="jsonl", split="none")
    # The view has returned: the documents are read and written only as the body is iterated.
    chunks = list(response.iter_encoded())
    response.close()
    assert len(chunks) > 2
    assert [line[:13] for line in b"".join(chunks).splitlines()][:2] == [b'{"id": "g00",', b'{"id": "g01",']
    assert len(b"".join(chunks).splitlines()) == 40
    assert engine.pool.checkedout() == 0


def test_reviewers_may_not_download(client, auth, db_session):
    auth.login("rev", role="reviewer")
    corpus(db_session)
    response = download(client, origin="gold", format="jsonl", split="none")
    assert response.status_code == 403
    assert "Content-Disposition" not in response.headers


def test_a_download_abandoned_half_way_still_frees_its_connection(admin, app, db_session):
    corpus(db_session)
    response = download(admin, origin="gold", format="jsonl", split="none")
    assert response.status_code == 200
    response.close()  # the client went away without reading the body
    assert app.extensions["annotator.engine"].pool.checkedout() == 0
