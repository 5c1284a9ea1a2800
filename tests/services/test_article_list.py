"""The article list at scale: keyset pages, filters, search by id prefix and words, visible articles, counts."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, inspect, update
from sqlmodel import Session, select

from annotator.db import make_engine, upgrade
from annotator.errors import Forbidden, InvalidEdit, NotFound
from annotator.models import AnnotationState, Article, BatchState, ImportBatch, utcnow
from annotator.schema_extras import TSVECTOR_PREFIX
from annotator.services import articles
from annotator.services.articles import ListFilters, count_articles, count_by_status, list_page
from annotator.services.deletion import delete_articles, delete_batch
from annotator.services.importer import import_records
from annotator.services.progress import progress
from annotator.services.settings import ProjectSettings
from tests.factories import make_article, make_user
from tests.test_migrations import empty_engine  # noqa: F401  (the migrated database, on each backend)

SETTINGS = ProjectSettings()
ALL = ListFilters()


@pytest.fixture
def ann(session):
    return make_user(session, username="ann")


@pytest.fixture
def rev(session):
    return make_user(session, username="rev", role="reviewer")


def add_articles(
    session, count: int, *, prefix: str = "doc", text: str = "Kabul was quiet."
) -> list[Article]:
    made = [make_article(session, external_id=f"{prefix}{number:03d}", text=text) for number in range(count)]
    return made


def set_status(session, article: Article, user, status: str, **fields) -> AnnotationState:
    state = AnnotationState(article_id=article.id, user_id=user.id, status=status, **fields)
    session.add(state)
    session.commit()
    return state


def walk(session, viewer, filters=ALL, *, limit: int) -> list[str]:
    """Follow the Next links from the first page to the last; return every external id seen."""
    seen, after = [], None
    for _ in range(100):
        page = list_page(session, viewer, SETTINGS, filters, after=after, limit=limit)
        seen.extend(row.external_id for row in page.rows)
        if page.next_after is None:
            return seen
        after = page.next_after
    raise AssertionError("the pages never ended")


def walk_back(session, viewer, filters=ALL, *, limit: int) -> list[str]:
    """From the last page, follow the Previous links to the first; return every external id seen, in order."""
    page = list_page(session, viewer, SETTINGS, filters, after=None, limit=limit)
    while page.next_after is not None:
        page = list_page(session, viewer, SETTINGS, filters, after=page.next_after, limit=limit)
    pages = [[row.external_id for row in page.rows]]
    while page.previous_before is not None:
        page = list_page(session, viewer, SETTINGS, filters, before=page.previous_before, limit=limit)
        pages.insert(0, [row.external_id for row in page.rows])
    return [external_id for each in pages for external_id in each]


# --- keyset pages ---------------------------------------------------------------------------------


def test_pages_forward_and_back_show_every_article_once_in_order(session, ann):
    made = add_articles(session, 23)
    expected = [article.external_id for article in made]
    assert walk(session, ann, limit=5) == expected
    assert walk_back(session, ann, limit=5) == expected


def test_the_last_full_page_has_no_next_link_and_the_first_no_previous(session, ann):
    add_articles(session, 10)
    first = list_page(session, ann, SETTINGS, limit=5)
    second = list_page(session, ann, SETTINGS, after=first.next_after, limit=5)
    assert first.previous_before is None and first.next_after is not None
    assert second.next_after is None
    assert [row.external_id for row in second.rows] == [f"doc{n:03d}" for n in range(5, 10)]


def test_an_article_deleted_between_page_loads_skips_and_repeats_nothing(session, ann):
    made = add_articles(session, 12)
    first = list_page(session, ann, SETTINGS, limit=4)
    # Delete the last article shown and the first one of the next page.
    session.delete(made[3])
    session.delete(made[4])
    session.commit()
    rest = list_page(session, ann, SETTINGS, after=first.next_after, limit=4)
    assert [row.external_id for row in first.rows] == ["doc000", "doc001", "doc002", "doc003"]
    assert [row.external_id for row in rest.rows] == ["doc005", "doc006", "doc007", "doc008"]
    # Going back from there lands on the first page, now one article shorter, not on an empty page.
    back = list_page(session, ann, SETTINGS, before=rest.previous_before, limit=4)
    assert [row.external_id for row in back.rows] == ["doc000", "doc001", "doc002", "doc005"]
    assert back.previous_before is None


def test_an_article_imported_between_page_loads_comes_on_a_later_page(session, ann):
    add_articles(session, 6)
    first = list_page(session, ann, SETTINGS, limit=3)
    make_article(session, external_id="late")
    assert walk(session, ann, limit=3)[-1] == "late"
    rest = list_page(session, ann, SETTINGS, after=first.next_after, limit=10)
    assert [row.external_id for row in rest.rows] == ["doc003", "doc004", "doc005", "late"]


def test_a_page_after_the_last_article_is_empty_and_links_back(session, ann):
    made = add_articles(session, 3)
    page = list_page(session, ann, SETTINGS, after=made[-1].id + 50, limit=5)
    assert page.rows == [] and page.next_after is None
    back = list_page(session, ann, SETTINGS, before=page.previous_before, limit=5)
    assert [row.external_id for row in back.rows] == ["doc000", "doc001", "doc002"]


# --- filters --------------------------------------------------------------------------------------


def test_status_filter_pages_through_this_users_articles_of_that_status(session, ann, rev):
    made = add_articles(session, 20)
    accepted = made[1::3]
    for article in accepted:
        set_status(session, article, ann, "accepted")
    set_status(session, made[0], rev, "accepted")  # someone else's status does not count
    set_status(session, made[2], ann, "in_progress")
    filters = ListFilters(status="accepted")
    assert walk(session, ann, filters, limit=2) == [article.external_id for article in accepted]
    assert walk_back(session, ann, filters, limit=2) == [article.external_id for article in accepted]


def test_todo_filter_includes_untouched_and_todo_states(session, ann):
    made = add_articles(session, 6)
    set_status(session, made[0], ann, "todo")
    set_status(session, made[1], ann, "accepted")
    set_status(session, made[2], ann, "skipped")
    assert walk(session, ann, ListFilters(status="todo"), limit=2) == ["doc000", "doc003", "doc004", "doc005"]


def test_unknown_status_is_refused(session, ann):
    with pytest.raises(InvalidEdit, match="Unknown status"):
        list_page(session, ann, SETTINGS, ListFilters(status="done"))


def test_reviewer_filters_by_annotator_and_sees_their_statuses(session, ann, rev):
    made = add_articles(session, 5)
    set_status(session, made[1], ann, "accepted")
    set_status(session, made[3], ann, "in_progress")
    page = list_page(session, rev, SETTINGS, ListFilters(annotator="ann"))
    assert page.annotator == "ann"
    assert [(row.external_id, row.status) for row in page.rows] == [
        ("doc001", "accepted"),
        ("doc003", "in_progress"),
    ]
    accepted = list_page(session, rev, SETTINGS, ListFilters(annotator="ann", status="accepted"))
    assert [row.external_id for row in accepted.rows] == ["doc001"]


@pytest.mark.parametrize(
    "filters", [ListFilters(annotator="bob"), ListFilters(annotator="bob", flagged=True)]
)
def test_an_annotator_may_not_filter_by_another_annotator(session, ann, filters):
    bob = make_user(session, username="bob")
    article = make_article(session)
    set_status(session, article, bob, "flagged")
    with pytest.raises(Forbidden):
        list_page(session, ann, SETTINGS, filters)


def test_an_annotator_may_filter_by_themselves(session, ann):
    made = add_articles(session, 3)
    set_status(session, made[2], ann, "in_progress")
    page = list_page(session, ann, SETTINGS, ListFilters(annotator="ann"))
    assert [row.external_id for row in page.rows] == ["doc002"]


def test_an_unknown_annotator_is_not_found(session, rev):
    with pytest.raises(NotFound, match="nobody"):
        list_page(session, rev, SETTINGS, ListFilters(annotator="nobody"))


def test_flag_filter_shows_open_flags_only(session, ann, rev):
    bob = make_user(session, username="bob")
    made = add_articles(session, 8)
    set_status(session, made[1], ann, "flagged")
    set_status(session, made[4], bob, "flagged")
    set_status(session, made[4], ann, "flagged")  # two flags on one article: listed once
    # Answered: the reviewer's note is newer than the flag.
    flagged_at = utcnow() - timedelta(minutes=5)
    set_status(
        session,
        made[6],
        bob,
        "flagged",
        updated_at=flagged_at,
        reviewer_note="fine",
        reviewer_note_at=utcnow(),
    )
    set_status(session, made[7], ann, "accepted")
    flagged = ListFilters(flagged=True)
    assert walk(session, rev, flagged, limit=1) == ["doc001", "doc004"]
    assert walk(session, rev, ListFilters(flagged=True, annotator="bob"), limit=1) == ["doc004"]
    # An annotator sees their own flags only.
    assert walk(session, bob, flagged, limit=1) == ["doc004"]


def test_filters_combine_with_search(session, ann):
    a = make_article(session, external_id="a", text="Shelling in Kabul.")
    make_article(session, external_id="b", text="Shelling in Herat.")
    c = make_article(session, external_id="c", text="Kabul shelling again.")
    set_status(session, a, ann, "accepted")
    set_status(session, c, ann, "in_progress")
    page = list_page(session, ann, SETTINGS, ListFilters(status="accepted", search="shelling kabul"))
    assert [row.external_id for row in page.rows] == ["a"]
    todo = list_page(session, ann, SETTINGS, ListFilters(status="todo", search="shelling"))
    assert [row.external_id for row in todo.rows] == ["b"]


# --- search ---------------------------------------------------------------------------------------


def test_search_by_id_prefix(session, ann):
    for external_id in [
        "helmand/1",
        "helmand/10",
        "helmand/2",
        "helmand/1x",
        "kabul/1",
        "Helmand/1",
        "helmand",
    ]:
        make_article(session, external_id=external_id, text="Nothing here.")
    page = list_page(session, ann, SETTINGS, ListFilters(search="helmand/1"))
    assert [row.external_id for row in page.rows] == ["helmand/1", "helmand/10", "helmand/1x"]


@pytest.mark.parametrize("prefix", ["a%", "a_", "a\\", "é", "\U0010ffff"])
def test_id_prefix_search_takes_every_character_literally(session, ann, prefix):
    for external_id in [f"{prefix}1", "ab", "a\\b", "éa", "b"]:
        if session.exec(select(Article).where(Article.external_id == external_id)).first() is None:
            make_article(session, external_id=external_id, text="x")
    page = list_page(session, ann, SETTINGS, ListFilters(search=prefix))
    found = [row.external_id for row in page.rows]
    assert found == [each for each in [f"{prefix}1", "ab", "a\\b", "éa", "b"] if each.startswith(prefix)]


def test_id_prefix_search_pages_by_keyset(session, ann):
    add_articles(session, 7, prefix="x/")
    add_articles(session, 3, prefix="y/")
    assert walk(session, ann, ListFilters(search="x/"), limit=3) == [f"x/{n:03d}" for n in range(7)]


def test_search_by_words_finds_articles_with_every_word_in_article_order(session, ann):
    make_article(session, external_id="1", text="Taliban fighters attacked Kabul.")
    make_article(session, external_id="2", text="A quiet day in KABUL; no fighters.")
    make_article(session, external_id="3", text="Fighters left Herat.")
    make_article(session, external_id="4", text="kabulis fight")
    assert ids(session, ann, "kabul") == ["1", "2"]
    assert ids(session, ann, "Fighters, Kabul!") == ["1", "2"]
    assert ids(session, ann, "fighters herat") == ["3"]
    assert ids(session, ann, "nowhere") == []


@pytest.mark.parametrize(
    "query", ['"', "AND", "kabul OR", "NEAR(", "a*", "-kabul", "col:kabul", "'; drop", "^"]
)
def test_search_syntax_characters_are_plain_words(session, ann, query):
    make_article(session, external_id="1", text="Kabul and more.")
    page = list_page(session, ann, SETTINGS, ListFilters(search=query))
    assert all(row.external_id == "1" for row in page.rows)


def test_search_by_words_pages_by_keyset_and_mixes_id_matches(session, ann):
    rng = random.Random(7)
    expected = []
    for number in range(30):
        hit = rng.random() < 0.5
        make_article(session, external_id=f"n{number:02d}", text="mortar fire" if hit else "calm")
        if hit:
            expected.append(f"n{number:02d}")
    make_article(session, external_id="mortar-log", text="calm")  # found by its id
    assert walk(session, ann, ListFilters(search="mortar"), limit=4) == [*expected, "mortar-log"]
    assert walk_back(session, ann, ListFilters(search="mortar"), limit=4) == [*expected, "mortar-log"]


def test_a_long_search_is_refused(session, ann):
    with pytest.raises(InvalidEdit, match="keep it to"):
        list_page(session, ann, SETTINGS, ListFilters(search="x" * 201))
    with pytest.raises(InvalidEdit, match="words"):
        list_page(session, ann, SETTINGS, ListFilters(search=" ".join(["w"] * 13)))


def ids(session, viewer, search: str) -> list[str]:
    return [row.external_id for row in list_page(session, viewer, SETTINGS, ListFilters(search=search)).rows]


def test_the_full_text_index_follows_imports_and_deletions(session, ann):
    summary = import_records(
        session,
        [{"id": "i1", "text": "Convoy ambushed near Lashkar Gah."}, {"id": "i2", "text": "Convoy passed."}],
        origin="gold",
    )
    assert ids(session, ann, "convoy") == ["i1", "i2"]
    delete_articles(session, ["i1"], actor=None)
    assert ids(session, ann, "convoy") == ["i2"]
    assert ids(session, ann, "ambushed") == []
    delete_batch(session, summary.batch_id, actor=None)
    assert ids(session, ann, "convoy") == []


def test_the_full_text_index_follows_a_changed_text(session, ann):
    article = make_article(session, external_id="t", text="old words")
    session.execute(update(Article).where(Article.id == article.id).values(text="new words"))
    session.commit()
    assert ids(session, ann, "old") == []
    assert ids(session, ann, "new") == ["t"]


def test_a_text_too_long_for_a_whole_tsvector_is_stored_and_its_beginning_found(session, ann):
    # Distinct words make the largest tsvector: its whole would pass PostgreSQL's 1 MB limit.
    words = [f"w{number:x}" for number in range(130_000)]
    text = " ".join(words)[:1_000_000]
    make_article(session, external_id="long", text=text)
    assert ids(session, ann, "w0 w1 w2") == ["long"]
    assert session.exec(select(Article.id).where(Article.external_id == "long")).one()
    assert len(text) > TSVECTOR_PREFIX


# --- visible articles -----------------------------------------------------------------------------


def pending_article(session, external_id: str = "pending") -> tuple[ImportBatch, Article]:
    batch = ImportBatch(channel="cli", origin="gold", state=BatchState.IMPORTING.value)
    session.add(batch)
    session.commit()
    article = Article(
        external_id=external_id, text="Kabul hidden words", content_hash="0" * 64, import_batch_id=batch.id
    )
    session.add(article)
    session.commit()
    return batch, article


def test_articles_of_an_import_still_running_are_not_listed_searched_or_counted(session, ann, rev):
    make_article(session, external_id="seen", text="Kabul seen words")
    batch, _ = pending_article(session)
    assert [row.external_id for row in list_page(session, ann, SETTINGS).rows] == ["seen"]
    assert ids(session, ann, "kabul") == ["seen"]
    assert ids(session, ann, "hidden") == []
    assert ids(session, ann, "pend") == []
    assert count_articles(session) == 1
    assert count_by_status(session, ann.id)["todo"] == 1
    assert progress(session, ann.id, SETTINGS).articles == 1
    batch.state = BatchState.COMMITTED.value
    session.add(batch)
    session.commit()
    assert ids(session, ann, "kabul") == ["seen", "pending"]
    assert count_articles(session) == 2


# --- counts ---------------------------------------------------------------------------------------


def test_counts_follow_inserts_deletes_and_batches(session, ann):
    assert count_articles(session) == 0
    made = add_articles(session, 5)
    summary = import_records(session, [{"id": f"b{n}", "text": "Kabul."} for n in range(4)], origin="gold")
    assert count_articles(session) == 9
    session.delete(made[0])
    session.commit()
    assert count_articles(session) == 8
    # Deleting a batch row alone keeps its articles (as batchless): still counted.
    session.execute(delete(ImportBatch).where(ImportBatch.id == summary.batch_id))
    session.commit()
    assert count_articles(session) == 8
    session.execute(delete(Article).where(Article.external_id.in_(["b0", "b1"])))
    session.commit()
    assert count_articles(session) == 6
    assert count_articles(session) == len(session.exec(select(Article.id)).all())


def test_count_by_status_counts_this_users_visible_articles(session, ann, rev):
    made = add_articles(session, 6)
    set_status(session, made[0], ann, "accepted")
    set_status(session, made[1], ann, "in_progress")
    set_status(session, made[2], ann, "todo")
    set_status(session, made[3], rev, "accepted")
    counts = count_by_status(session, ann.id)
    assert counts == {"todo": 4, "in_progress": 1, "accepted": 1, "skipped": 0, "flagged": 0}
    assert count_by_status(session, ann.id, total=6) == counts


def test_list_articles_keeps_its_old_shape(session, ann):
    made = add_articles(session, 4)
    rows = articles.list_articles(session, ann.id, SETTINGS, limit=2, after=made[0].id)
    assert [row.external_id for row in rows] == ["doc001", "doc002"]


# --- the schema ------------------------------------------------------------------------------------


def triggers_and_indexes(engine) -> tuple[set[str], set[str]]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'table')"
            ).all()
            triggers = {name for kind, name in rows if kind == "trigger"}
            tables = {name for kind, name in rows if kind == "table"}
            return triggers, tables
        triggers = {
            name
            for (name,) in connection.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        }
    indexes = {index["name"] for index in inspect(engine).get_indexes("article")}
    columns = {column["name"] for column in inspect(engine).get_columns("article")}
    return triggers, indexes | columns


def test_migrations_and_create_all_make_the_same_search_index_and_counters(engine, empty_engine):  # noqa: F811
    if engine.dialect.name != empty_engine.dialect.name:
        pytest.skip("one backend at a time")
    upgrade(empty_engine)
    created = triggers_and_indexes(engine)
    assert created == triggers_and_indexes(empty_engine)
    assert created[0]  # the triggers are there


def test_migration_fills_the_search_index_and_counters_from_stored_articles(empty_engine):  # noqa: F811
    upgrade(empty_engine, "0010")
    with empty_engine.begin() as connection:
        for external_id, text in [("old1", "Kabul was shelled"), ("old2", "Herat was calm")]:
            connection.exec_driver_sql(
                "INSERT INTO article (external_id, text, content_hash, meta, imported_at) "
                f"VALUES ('{external_id}', '{text}', 'h', '{{}}', CURRENT_TIMESTAMP)"
            )
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        viewer = make_user(session, username="ann")
        assert count_articles(session) == 2
        assert ids(session, viewer, "shelled") == ["old1"]
        make_article(session, external_id="new", text="Kabul again")
        assert ids(session, viewer, "kabul") == ["old1", "new"]
        assert count_articles(session) == 3


def test_create_all_on_an_existing_database_changes_nothing(database_url):
    engine = make_engine(database_url)
    try:
        from sqlmodel import SQLModel

        SQLModel.metadata.create_all(engine)  # the extras again: created only if missing
        with Session(engine) as session:
            make_article(session, external_id="once", text="Kabul")
            assert count_articles(session) == 1
            assert ids(session, make_user(session), "kabul") == ["once"]
    finally:
        engine.dispose()


def test_an_id_prefix_shared_by_many_articles_pages_the_same(session, ann, monkeypatch):
    add_articles(session, 9, prefix="wide/")
    add_articles(session, 2, prefix="narrow/")
    expected = [f"wide/{n:03d}" for n in range(9)]
    assert walk(session, ann, ListFilters(search="wide/"), limit=4) == expected
    # Past the threshold, SQLite walks the articles instead of sorting the id index's matches.
    monkeypatch.setattr(articles, "PREFIX_SORT_LIMIT", 3)
    assert walk(session, ann, ListFilters(search="wide/"), limit=4) == expected
    assert walk_back(session, ann, ListFilters(search="wide/"), limit=4) == expected


def test_a_streamed_import_is_searchable_and_counted_only_once_committed(
    session, engine, ann, tmp_path, monkeypatch
):
    """The streamed import writes in chunks (COPY on PostgreSQL) into a batch that commits at the end."""
    import json

    from annotator.services import importer

    path = tmp_path / "corpus.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"s{n}", "text": f"Convoy number {n} reached Kandahar."}) + "\n"
            for n in range(7)
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(importer, "WRITE_ARTICLES", 2)
    seen = {}

    def look(at: str, batch_id: int, done: int) -> None:
        if at == "chunk" and done == 2:
            with Session(engine) as other:
                seen["search"] = ids(other, ann, "kandahar")
                seen["count"] = count_articles(other)

    monkeypatch.setattr(importer, "_checkpoint", look)
    importer.import_paths(session, [path])
    assert seen == {"search": [], "count": 0}
    assert ids(session, ann, "kandahar") == [f"s{n}" for n in range(7)]
    assert ids(session, ann, "convoy 3") == ["s3"]
    assert count_articles(session) == 7
