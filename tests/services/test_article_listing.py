"""article_listing: the list's columns apart from the texts, kept by triggers, and the list reading only them."""

from __future__ import annotations

import json
import re

import pytest
from alembic import command
from sqlalchemy import event, inspect, text, update
from sqlmodel import Session, select

from annotator.db import alembic_config, upgrade
from annotator.models import Article, ArticleListing, ImportBatch
from annotator.schema_listing import PREVIEW
from annotator.services import articles, importer
from annotator.services.deletion import delete_articles, delete_batch
from annotator.services.importer import import_paths, import_records
from annotator.services.settings import ProjectSettings
from tests.factories import make_article, make_user
from tests.services.test_article_list import set_status
from tests.test_migrations import empty_engine  # noqa: F401  (the migrated database, on each backend)

SETTINGS = ProjectSettings()
# Characters of two and four bytes in UTF-8, and a letter with a combining accent (two code points).
UNICODE_TEXTS = {
    "accents": "é" * 200,
    "emoji": "🙂" * 200,
    "mixed": "Kabul " * 26 + "🙂é\u0301" + "x" * 50,
}


def expected_and_listed(session: Session) -> tuple[dict, dict]:
    """Return each article's listing as its text gives it, and as stored, by article id."""
    session.expire_all()
    expected = {
        article.id: (article.external_id, article.text[:PREVIEW], len(article.text))
        for article in session.exec(select(Article))
    }
    listed = {
        row.article_id: (row.external_id, row.preview, row.length)
        for row in session.exec(select(ArticleListing))
    }
    return expected, listed


def assert_listing_matches(session: Session) -> None:
    expected, listed = expected_and_listed(session)
    assert listed == expected


# --- kept by the triggers ----------------------------------------------------------------------------


def test_an_import_lists_each_article(session):
    """SQLite inserts the articles with executemany, PostgreSQL with COPY: both fire the triggers."""
    records = [{"id": name, "text": value} for name, value in UNICODE_TEXTS.items()]
    records.append({"id": "short", "text": "Kabul was quiet."})
    import_records(session, records)
    assert_listing_matches(session)
    assert len(expected_and_listed(session)[1]) == 4


def test_a_streamed_import_lists_the_articles_of_every_chunk(session, tmp_path, monkeypatch):
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"id": f"s{n}", "text": f"Convoy {n} reached Kandahar. " * n}) for n in range(1, 8)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(importer, "WRITE_ARTICLES", 2)
    import_paths(session, [path])
    assert_listing_matches(session)
    assert len(expected_and_listed(session)[1]) == 7


def test_an_article_added_one_at_a_time_is_listed(session):
    make_article(session, external_id="one", text="Herat " * 40)
    assert_listing_matches(session)


@pytest.mark.parametrize("name", sorted(UNICODE_TEXTS))
def test_preview_and_length_count_characters_not_bytes(session, name):
    value = UNICODE_TEXTS[name]
    article = make_article(session, external_id=name, text=value)
    listing = session.get(ArticleListing, article.id)
    assert (listing.preview, listing.length) == (value[:PREVIEW], len(value))
    row = articles.list_page(session, make_user(session), SETTINGS).rows[0]
    assert (row.preview, row.length) == (value[:PREVIEW], len(value))


def test_a_changed_text_or_external_id_is_listed_anew(session):
    article = make_article(session, external_id="old", text="Kabul " * 40)
    make_article(session, external_id="other", text="Herat")
    session.execute(update(Article).where(Article.id == article.id).values(text="é" * 170))
    session.commit()
    assert_listing_matches(session)
    session.execute(update(Article).where(Article.id == article.id).values(external_id="new"))
    session.commit()
    assert_listing_matches(session)
    assert session.get(ArticleListing, article.id).external_id == "new"


def test_deleted_articles_take_their_listing_with_them(session):
    make_article(session, external_id="kept", text="Kabul")
    make_article(session, external_id="gone", text="Herat")
    summary = import_records(session, [{"id": f"b{n}", "text": "Kandahar."} for n in range(3)])
    delete_articles(session, ["gone"], actor=None)
    assert_listing_matches(session)
    assert len(expected_and_listed(session)[1]) == 4
    # Deleting the import goes through import_batches.delete_discarded, a chunk at a time.
    delete_batch(session, summary.batch_id, actor=None)
    assert session.exec(select(ImportBatch)).all() == []
    assert_listing_matches(session)
    assert [row.external_id for row in session.exec(select(ArticleListing))] == ["kept"]


# --- the list reads the listing, not the articles -------------------------------------------------


def captured_rows_statement(session, ids, user_id) -> tuple[str, object]:
    """Run the list's row query for ``ids``; return its SQL and parameters as sent."""
    sent = []

    def grab(_conn, _cursor, statement, parameters, _context, _executemany):
        sent.append((statement, parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", grab)
    try:
        articles._rows(session, ids, user_id, SETTINGS)
    finally:
        event.remove(bind, "before_cursor_execute", grab)
    (found,) = [each for each in sent if "article_listing" in each[0]]
    return found


def test_the_list_rows_read_no_article_row(session):
    """On SQLite, a SEARCH of article (even by its primary key) would read the row and its overflow pages."""
    user = make_user(session)
    other = make_user(session, username="bob")
    made = [make_article(session, external_id=f"a{n}", text="Kabul " * 1000) for n in range(3)]
    set_status(session, made[1], user, "accepted")
    set_status(session, made[1], other, "accepted")
    statement, parameters = captured_rows_statement(session, [each.id for each in made], user.id)
    connection = session.connection()
    if session.get_bind().dialect.name == "sqlite":
        plan = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        tables = [found.group(1) for line in plan if (found := re.match(r"(?:SEARCH|SCAN) (\w+)", line))]
        assert "article" not in tables, plan
        assert "SEARCH article_listing USING INTEGER PRIMARY KEY (rowid=?)" in plan
        # The count of accepted versions comes from the index alone.
        assert any("COVERING INDEX ix_state_article_status" in line for line in plan), plan
    else:
        plan = [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
        assert not any(re.search(r"\bon article\b(?!_)", line) for line in plan), plan


def test_the_list_shows_the_accept_counters(session):
    """The rows count accepted versions from the states; the queue's counter holds the same number."""
    team = [make_user(session, username=name) for name in ("ann", "bob", "cat")]
    made = [make_article(session, external_id=f"a{n}") for n in range(3)]
    for article, accepting in zip(made, (team[:1], team, []), strict=True):
        for user in accepting:
            set_status(session, article, user, "accepted")
    set_status(session, made[2], team[0], "flagged")
    rows = articles.list_page(session, team[0], SETTINGS).rows
    session.expire_all()
    assert [row.accepted for row in rows] == [session.get(Article, each.id).accepted_count for each in made]
    assert [row.accepted for row in rows] == [1, 3, 0]
    assert [row.status for row in rows] == ["accepted", "accepted", "flagged"]


# --- the migration -----------------------------------------------------------------------------------


def test_the_migration_lists_the_stored_articles_and_its_downgrade_removes_the_listing(empty_engine):  # noqa: F811
    upgrade(empty_engine, "0012")
    insert = text(
        "INSERT INTO article (external_id, text, content_hash, meta, imported_at) "
        "VALUES (:external_id, :text, 'h', '{}', CURRENT_TIMESTAMP)"
    )
    with empty_engine.begin() as connection:
        for name, value in UNICODE_TEXTS.items():
            connection.execute(insert, {"external_id": name, "text": value})
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        assert_listing_matches(session)
        assert len(expected_and_listed(session)[1]) == len(UNICODE_TEXTS)
        make_article(session, external_id="new", text="Kabul")
        assert_listing_matches(session)

    command.downgrade(alembic_config(empty_engine), "0012")
    assert "article_listing" not in inspect(empty_engine).get_table_names()
    with empty_engine.begin() as connection:
        connection.execute(insert, {"external_id": "after", "text": "Herat"})  # no trigger left behind
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        assert_listing_matches(session)
        assert len(expected_and_listed(session)[1]) == len(UNICODE_TEXTS) + 2
