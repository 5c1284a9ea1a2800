"""Admin import pages: upload (all or nothing, problems named by file and line), size limits, deletion."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func
from sqlmodel import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from annotator.models import Article, AuditEvent, GoldTally, ImportBatch, Span
from annotator.services import deletion
from annotator.services.settings import set_setting
from annotator.web.admin.imports import saved_name, uploaded_name
from tests.factories import make_user, make_version
from tests.web.conftest import TEST_CSRF
from tests.web.review_helpers import HTMX

TEXT = "Taliban fighters attacked Kabul."
GOOD_JSONL = (
    json.dumps({"id": "j1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}], "src": "x"})
    + "\n"
)
CSV = f'id,text,source\nc1,"{TEXT}",wire\n'


@pytest.fixture
def admin(client, auth):
    auth.login("boss", role="admin")
    return client


def upload(client, *files: tuple[str, str | bytes], origin: str = "gold", headers=None):
    """Post files to the upload form as a browser does, as one multipart body built in memory."""
    # The test client spools bodies over 500 KB to a temporary file it never closes.
    values = MultiDict([("origin", origin), ("csrf_token", TEST_CSRF)])
    for name, body in files:
        values.add("files", FileStorage(io.BytesIO(body.encode() if isinstance(body, str) else body), name))
    boundary, body = encode_multipart(values)
    return client.post(
        "/admin/import/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def count(db_session, table) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(table)).one()


def test_the_page_offers_every_origin_and_explains_each_format(admin, db_session):
    make_user(db_session, username="ann")
    make_user(db_session, username="gone")
    from annotator.services.users import set_active

    set_active(db_session, "gone", False)

    page = admin.get("/admin/import/").get_data(as_text=True)

    for value in ('value="gold"', 'value="model"', 'value="annotator:ann"'):
        assert value in page
    assert "annotator:gone" not in page
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    for fact in (
        "file name without the extension",
        "<code>id</code> and <code>text</code>",
        "1,000,000 characters",
    ):
        assert fact in page
    assert 'data-upload-limit="209715200"' in page and "<progress" in page
    assert "/static/admin.js" in page
    assert "/static/admin.js" not in admin.get("/articles/").get_data(as_text=True)


def test_an_upload_of_several_files_imports_them_all_as_one_batch(admin, db_session):
    response = upload(
        admin,
        ("Kabul report 01.txt", TEXT),
        ("مقال.txt", "Kabul."),
        ("gold.jsonl", GOOD_JSONL),
        ("table.csv", CSV),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "4 new articles, 0 updated (spans added), 0 unchanged; 1 span added" in page
    db_session.expire_all()
    batch = db_session.exec(select(ImportBatch)).one()
    assert f'href="/admin/import/batches/{batch.id}"' in page
    assert (batch.channel, batch.origin) == ("upload", "gold")
    assert batch.files == ["Kabul report 01.txt", "مقال.txt", "gold.jsonl", "table.csv"]
    stored = {a.external_id: a for a in db_session.exec(select(Article))}
    assert set(stored) == {"Kabul report 01", "مقال", "j1", "c1"}
    assert {a.import_batch_id for a in stored.values()} == {batch.id}
    assert stored["c1"].meta == {"source": "wire"}
    event = db_session.exec(select(AuditEvent)).one()
    assert (event.action, event.actor_name, event.details["new"]) == ("import.upload", "boss", 4)


def test_an_upload_with_one_bad_line_writes_nothing_and_names_the_file_and_line(admin, db_session):
    bad = GOOD_JSONL + json.dumps({"id": "j2"}) + "\n" + "{oops\n"

    response = upload(admin, ("first.txt", TEXT), ("my data.jsonl", bad))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in page
    assert "my data.jsonl:2: missing &#39;text&#39;" in page
    assert "my data.jsonl:3: malformed JSON" in page
    assert "/tmp" not in page and "my_data" not in page
    assert (count(db_session, Article), count(db_session, Span), count(db_session, ImportBatch)) == (0, 0, 0)
    assert count(db_session, AuditEvent) == 0


@pytest.mark.parametrize(("origin", "stored"), [("gold", 1), ("model", 0)])
def test_an_upload_reads_the_tally_field_as_gold_only_with_origin_gold(admin, db_session, origin, stored):
    line = json.dumps({"id": "t1", "text": "Three died.", "tally": {"killed": {"total": 3}}})
    html = upload(admin, ("tallies.jsonl", line + "\n"), origin=origin).get_data(as_text=True)
    assert len(db_session.exec(select(GoldTally)).all()) == stored
    assert ("1 gold tally stored" in html) == (origin == "gold")
    assert ("Ignored the tally field of 1 record" in html) == (origin == "model")


def test_an_htmx_upload_gets_the_result_fragment_alone(admin, db_session):
    response = upload(admin, ("a.jsonl", GOOD_JSONL), headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="import-result"') and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]

    refused = upload(admin, ("b.csv", "id,text\n"), headers=HTMX)
    assert refused.status_code == 422 and "b.csv: the file holds no articles" in refused.get_data(
        as_text=True
    )


def test_an_upload_for_an_annotator_stores_their_spans(admin, db_session):
    ann = make_user(db_session, username="ann")
    assert upload(admin, ("a.jsonl", GOOD_JSONL), origin="annotator:ann").status_code == 200
    db_session.expire_all()
    assert db_session.exec(select(Span.origin, Span.owner_id)).all() == [("annotator", ann.id)]


@pytest.mark.parametrize(
    ("files", "origin", "problem"),
    [
        ([], "gold", "Choose one or more"),
        ([("a.jsonl", GOOD_JSONL)], "annotator:nobody", "origin: "),
        ([("notes.pdf", b"%PDF")], "gold", "notes.pdf: unknown file type &#39;.pdf&#39;"),
        ([("latin1.txt", "Kábul".encode("latin-1"))], "gold", "latin1.txt:1: not valid UTF-8"),
    ],
)
def test_uploads_that_cannot_be_imported_are_refused_with_the_reason(
    admin, db_session, files, origin, problem
):
    response = upload(admin, *files, origin=origin)
    assert response.status_code == 422
    assert problem in response.get_data(as_text=True)
    assert count(db_session, Article) == 0


def test_uploaded_names_are_kept_and_saved_names_are_safe():
    assert uploaded_name("C:\\Users\\me\\kabul.txt") == "kabul.txt"
    assert uploaded_name("../../etc/x.jsonl") == "x.jsonl"
    assert saved_name("../a b.JSONL") == "a_b.jsonl"
    assert saved_name("مقال.txt") == "upload.txt"
    assert saved_name("noext") == "noext"


# --- size limits -----------------------------------------------------------------


def big_jsonl(size: int) -> str:
    return json.dumps({"id": "big", "text": "x" * size}) + "\n"


def test_the_upload_route_takes_bodies_up_to_the_setting_and_others_keep_the_app_limit(
    app, admin, db_session
):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    set_setting(db_session, "upload_limit_mb", "1")

    accepted = upload(admin, ("big.jsonl", big_jsonl(50_000)))
    assert accepted.status_code == 200, accepted.get_data(as_text=True)[:500]
    assert count(db_session, Article) == 1

    elsewhere = admin.post(
        "/admin/import/delete/confirm", data={"ids": "x" * 50_000, "csrf_token": TEST_CSRF}
    )
    assert elsewhere.status_code == 413
    assert "upload_limit_mb" not in elsewhere.get_data(as_text=True)


def test_an_upload_over_the_setting_gets_413_saying_the_limit_and_the_ways_round_it(app, admin, db_session):
    set_setting(db_session, "upload_limit_mb", "1")

    response = upload(admin, ("big.jsonl", big_jsonl(1_200_000)))

    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Uploads may total 1 MiB" in page
    assert "annotator config set upload_limit_mb" in page and "annotator import" in page
    assert "POST /api/v1/articles" in page
    assert count(db_session, Article) == 0
    fragment = upload(admin, ("big.jsonl", big_jsonl(1_200_000)), headers=HTMX)
    assert fragment.status_code == 413 and "<html" not in fragment.get_data(as_text=True)


def test_only_admins_get_the_larger_limit(app, client, auth, db_session):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    auth.login("rev", role="reviewer")
    response = upload(client, ("big.jsonl", big_jsonl(50_000)))
    assert response.status_code == 413
    assert "Uploads may total" not in response.get_data(as_text=True)


# --- imports and deletion ---------------------------------------------------------------


@pytest.fixture
def imported(admin, db_session):
    """An upload of two articles; ann accepted a version of the first."""
    records = [{"id": "d1", "text": TEXT}, {"id": "d2", "text": "Kabul."}]
    upload(admin, ("two.jsonl", "".join(json.dumps(r) + "\n" for r in records)), origin="model")
    ann = make_user(db_session, username="ann")
    d1 = db_session.exec(select(Article).where(Article.external_id == "d1")).one()
    make_version(db_session, d1, ann, [((0, 7), "ACTOR")])
    return db_session.exec(select(ImportBatch)).one().id


def test_the_imports_list_and_page_show_what_each_import_did(admin, imported):
    listing = admin.get("/admin/import/batches").get_data(as_text=True)
    assert f'href="/admin/import/batches/{imported}"' in listing
    assert "boss" in listing and "two.jsonl" in listing and "2 new, 0 updated, 0 unchanged" in listing

    page = admin.get(f"/admin/import/batches/{imported}").get_data(as_text=True)
    assert "Delete the 2 articles it created" in page and "model" in page
    assert admin.get("/admin/import/batches/999").status_code == 404


def test_deleting_an_import_shows_what_goes_and_needs_the_second_confirmation(admin, db_session, imported):
    page = admin.get(f"/admin/import/batches/{imported}/delete").get_data(as_text=True)
    assert "<strong>2 articles</strong>" in page and "1 hold annotators' work" in page
    assert 'name="confirm_work"' in page

    url = f"/admin/import/batches/{imported}/delete"
    refused = admin.post(url, data={"expected": 2, "csrf_token": TEST_CSRF})
    assert refused.status_code == 409
    assert "nothing was deleted" in refused.get_data(as_text=True)
    assert count(db_session, Article) == 2

    done = admin.post(url, data={"expected": 2, "confirm_work": "yes", "csrf_token": TEST_CSRF})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/import/batches")
    assert count(db_session, Article) == 0 and count(db_session, ImportBatch) == 0
    assert "Deleted import" in admin.get(done.headers["Location"]).get_data(as_text=True)


def test_an_import_still_running_shows_so_and_cannot_be_deleted(admin, db_session, imported):
    batch = db_session.get(ImportBatch, imported)
    batch.state = "importing"
    db_session.commit()

    listing = admin.get("/admin/import/batches").get_data(as_text=True)
    assert "still importing" in listing and "Delete…" not in listing
    page = admin.get(f"/admin/import/batches/{imported}").get_data(as_text=True)
    assert "still importing" in page and "Delete the 2 articles" not in page

    url = f"/admin/import/batches/{imported}/delete"
    confirm = admin.get(url)
    assert confirm.status_code == 409 and "still running" in confirm.get_data(as_text=True)
    assert 'name="confirm_work"' not in confirm.get_data(as_text=True)
    refused = admin.post(url, data={"expected": 2, "confirm_work": "yes", "csrf_token": TEST_CSRF})
    assert refused.status_code == 409
    db_session.expire_all()
    assert count(db_session, Article) == 2 and db_session.get(ImportBatch, imported).state == "importing"


def test_deleting_articles_by_id_confirms_first(admin, db_session, imported):
    confirm = admin.post(
        "/admin/import/delete/confirm", data={"ids": "d2\nmissing\n", "csrf_token": TEST_CSRF}
    )
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "<strong>1 article</strong>" in page and "<code>missing</code>" in page
    assert 'name="confirm_work"' not in page
    assert count(db_session, Article) == 2

    done = admin.post(
        "/admin/import/delete", data={"ids": "d2\nmissing", "expected": 1, "csrf_token": TEST_CSRF}
    )
    assert done.status_code == 303
    assert [a.external_id for a in db_session.exec(select(Article))] == ["d1"]


def test_deleting_an_article_with_work_by_id_is_refused_without_the_second_confirmation(
    admin, db_session, imported
):
    refused = admin.post("/admin/import/delete", data={"ids": "d1", "expected": 1, "csrf_token": TEST_CSRF})
    assert refused.status_code == 409
    assert count(db_session, Article) == 2
    assert deletion.plan_article_deletion(db_session, ["d1"]).with_work == 1

    done = admin.post(
        "/admin/import/delete",
        data={"ids": "d1", "expected": 1, "confirm_work": "yes", "csrf_token": TEST_CSRF},
    )
    assert done.status_code == 303 and count(db_session, Article) == 1


def test_the_delete_form_needs_ids(admin):
    assert (
        admin.post("/admin/import/delete/confirm", data={"ids": " \n", "csrf_token": TEST_CSRF}).status_code
        == 422
    )
    assert admin.post("/admin/import/delete", data={"ids": "d1", "csrf_token": TEST_CSRF}).status_code == 400
