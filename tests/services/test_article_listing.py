"""article_listing: the list's columns apart from the texts, kept by triggers, and the list reading only them."""

from __future__ import annotations

import json
import re

import pytest
from alembic import command
from sqlalchemy import delete, event, inspect, text, update
from sqlmodel import Session, select

from annotator.db import alembic_config, upgrade
from annotator.models import Article, ArticleListing, BatchState, ImportBatch
from annotator.schema_listing import PREVIEW
from annotator.services import articles, import_batches, importer
from annotator.services.articles import ListFilters
from annotator.services.deletion import delete_articles, delete_batch
from annotator.services.importer import import_paths, import_records
from annotator.services.settings import ProjectSettings
from tests.factories import make_article, make_user
from tests.services.test_article_list import pending_article, set_status
from tests.test_migrations import empty_engine  # noqa: F401  (the migrated database, on each backend)

SETTINGS = ProjectSettings()
# Characters of two and four bytes in UTF-8, and a letter with a combining accent (two code points).
UNICODE_TEXTS = {
    "accents": "é" * 200,
    "emoji": "🙂" * 200,
    "mixed": "Kabul " * 26 + "🙂é\u0301" + "x" * 50,
}


def expected_and_listed(session: Session) -> tuple[dict, dict]:
    """Return each article's listing as its row gives it, and as stored, by article id."""
    session.expire_all()
    expected = {
        article.id: (article.external_id, article.text[:PREVIEW], len(article.text), article.import_batch_id)
        for article in session.exec(select(Article))
    }
    listed = {
        row.article_id: (row.external_id, row.preview, row.length, row.import_batch_id)
        for row in session.exec(select(ArticleListing))
    }
    return expected, listed


def listed_batches(session: Session) -> dict[str, int | None]:
    session.expire_all()
    return {row.external_id: row.import_batch_id for row in session.exec(select(ArticleListing))}


def assert_listing_matches(session: Session) -> None:
    expected, listed = expected_and_listed(session)
    assert listed == expected


# --- kept by the triggers ----------------------------------------------------------------------------


def test_an_import_lists_each_article(session):
    """SQLite inserts the articles with executemany, PostgreSQL with COPY: both fire the triggers."""
    records = [{"id": name, "text": value} for name, value in UNICODE_TEXTS.items()]
    records.append({"id": "short", "text": "Kabul was quiet."})
    summary = import_records(session, records)
    assert_listing_matches(session)
    assert len(expected_and_listed(session)[1]) == 4
    assert set(listed_batches(session).values()) == {summary.batch_id}


def test_a_streamed_import_lists_the_articles_of_every_chunk(session, tmp_path, monkeypatch):
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"id": f"s{n}", "text": f"Convoy {n} reached Kandahar. " * n}) for n in range(1, 8)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(importer, "WRITE_ARTICLES", 2)
    summary = import_paths(session, [path])
    assert_listing_matches(session)
    assert len(expected_and_listed(session)[1]) == 7
    assert set(listed_batches(session).values()) == {summary.batch_id}


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


def test_the_listing_follows_the_articles_batch_also_when_the_batch_row_is_deleted(session):
    """The foreign key's SET NULL updates article.import_batch_id: the trigger follows it on both databases."""
    first = import_records(session, [{"id": "a", "text": "Kabul."}, {"id": "b", "text": "Herat."}])
    second = import_records(session, [{"id": "c", "text": "Kandahar."}])
    assert listed_batches(session) == {"a": first.batch_id, "b": first.batch_id, "c": second.batch_id}
    session.execute(update(Article).where(Article.external_id == "b").values(import_batch_id=second.batch_id))
    session.commit()
    assert listed_batches(session) == {"a": first.batch_id, "b": second.batch_id, "c": second.batch_id}
    # Not how the app deletes a batch (it deletes the articles first), but what the schema allows.
    session.execute(delete(ImportBatch).where(ImportBatch.id == second.batch_id))
    session.commit()
    assert listed_batches(session) == {"a": first.batch_id, "b": None, "c": None}
    assert_listing_matches(session)


def test_a_discarded_import_leaves_no_listing(session):
    make_article(session, external_id="kept", text="Kabul")
    batch, _ = pending_article(session)
    assert listed_batches(session) == {"kept": None, "pending": batch.id}
    assert import_batches.discard(session, batch.id) == 1
    assert listed_batches(session) == {"kept": None}


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


def captured_walks(session, call) -> list[tuple[str, object]]:
    """Run ``call``; return the SQL and parameters of each id walk it sent (not the rows' query, not counts)."""
    sent = []

    def grab(_conn, _cursor, statement, parameters, _context, _executemany):
        if "ORDER BY" in statement and "preview" not in statement:
            sent.append((statement, parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(bind, "before_cursor_execute", grab)
    return sent


def plan_of(session, statement, parameters) -> list[str]:
    connection = session.connection()
    if session.get_bind().dialect.name == "sqlite":
        return [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    return [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]


WALKS = {
    "list": lambda session, user: articles.list_page(session, user, SETTINGS, after=1),
    "list, backwards": lambda session, user: articles.list_page(session, user, SETTINGS, before=3),
    "list_articles": lambda session, user: articles.list_articles(session, user.id, SETTINGS, after=1),
    "status": lambda session, user: articles.list_page(
        session, user, SETTINGS, ListFilters(status="accepted")
    ),
    "todo": lambda session, user: articles.list_page(session, user, SETTINGS, ListFilters(status="todo")),
    "flagged": lambda session, user: articles.list_page(session, user, SETTINGS, ListFilters(flagged=True)),
    "words": lambda session, user: articles.list_page(session, user, SETTINGS, ListFilters(search="kabul")),
    "id prefix": lambda session, user: articles.list_page(session, user, SETTINGS, ListFilters(search="a1")),
}


@pytest.mark.parametrize("name", sorted(WALKS))
def test_the_list_walks_read_no_article_row(session, name):
    """On SQLite, the walks read ``article_listing``; of article at most an index that holds what they need.

    With a batch id of 2 or more, testing ``article.import_batch_id`` would read
    each article's overflow page. On PostgreSQL the plain list's walk reads no
    article either; the word search reads the articles' tsvector there.
    """
    user = make_user(session)
    import_records(session, [{"id": "first", "text": "Herat."}])
    import_records(session, [{"id": f"a{n}", "text": "Kabul " * 1000} for n in range(3)])
    set_status(
        session, session.exec(select(Article).where(Article.external_id == "a1")).one(), user, "flagged"
    )
    walks = captured_walks(session, lambda: WALKS[name](session, user))
    assert walks
    for statement, parameters in walks:
        plan = plan_of(session, statement, parameters)
        if session.get_bind().dialect.name == "sqlite":
            reads = [line for line in plan if re.match(r"(?:SEARCH|SCAN) article\b(?!_)", line)]
            assert all("COVERING INDEX" in line for line in reads), plan
            assert any(re.match(r"(?:SEARCH|SCAN) article_listing\b", line) for line in plan), plan
        elif name in ("list", "list, backwards", "list_articles"):
            assert not any(re.search(r"\bon article\b(?!_)", line) for line in plan), plan


def test_the_filters_list_no_article_of_an_import_still_running(session):
    user = make_user(session)
    shown = make_article(session, external_id="shown", text="Kabul")
    batch, pending = pending_article(session)
    for article in (shown, pending):
        set_status(session, article, user, "flagged")

    def listed(filters: ListFilters) -> list[str]:
        return [row.external_id for row in articles.list_page(session, user, SETTINGS, filters).rows]

    every = [
        ListFilters(),
        ListFilters(status="flagged"),
        ListFilters(flagged=True),
        ListFilters(search="kabul"),
    ]
    assert [listed(filters) for filters in every] == [["shown"]] * 4
    batch.state = BatchState.COMMITTED.value
    session.add(batch)
    session.commit()
    assert [listed(filters) for filters in every] == [["shown", "pending"]] * 4


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


def test_migration_0014_copies_each_articles_batch_into_the_listing(empty_engine):  # noqa: F811
    upgrade(empty_engine, "0013")
    insert = text(
        "INSERT INTO article (external_id, text, content_hash, meta, imported_at, import_batch_id) "
        "VALUES (:external_id, :text, 'h', '{}', CURRENT_TIMESTAMP, :batch)"
    )
    with empty_engine.begin() as connection:
        # Ids past those the importer takes next (PostgreSQL's sequence does not see these).
        for batch in (11, 12, 15):
            connection.execute(
                text(
                    "INSERT INTO import_batch (id, channel, origin, files, summary, created_at, state) "
                    "VALUES (:id, 'cli', 'tests', '[]', '{}', CURRENT_TIMESTAMP, 'committed')"
                ),
                {"id": batch},
            )
        for name, batch in (("none", None), ("a", 11), ("b", 12), ("c", 15), ("c-too", 15)):
            connection.execute(insert, {"external_id": name, "text": "Kabul " * 50, "batch": batch})
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        assert_listing_matches(session)
        assert listed_batches(session) == {"none": None, "a": 11, "b": 12, "c": 15, "c-too": 15}
        # The replaced triggers carry the batch from now on.
        import_records(session, [{"id": "new", "text": "Herat."}])
        assert_listing_matches(session)

    command.downgrade(alembic_config(empty_engine), "0013")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("article_listing")}
    assert "import_batch_id" not in columns
    with empty_engine.begin() as connection:
        # 0013's triggers are back: an insert and a change of batch need no column they lack.
        connection.execute(insert, {"external_id": "after", "text": "Herat", "batch": 12})
        connection.execute(text("UPDATE article SET import_batch_id = 11 WHERE external_id = 'after'"))
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        assert_listing_matches(session)
        assert listed_batches(session)["after"] == 11
