"""The article list's columns, kept apart from the texts: ``article_listing``, kept by triggers on article.

An article row holds its whole text, a few kilobytes; past about 4 KB SQLite
stores the rest of the row on an overflow page, so reading a text's beginning
or length reads that page too, wherever in the file it lies. At a million
articles a page of the list would read a hundred such pages scattered over
gigabytes. ``article_listing`` (a model) holds what the list shows of each
article, its external id, the text's first ``PREVIEW`` characters and its
length in characters, in rows of a couple of hundred bytes stored in article
order: a page of the list reads a few pages of it. It holds the article's
import batch too, so that the list finds its ids (visible ones only) in this
table alone: SQLite stores ``article.import_batch_id`` after the text, and
reading a batch id of 2 or more reads the text's overflow page.

Triggers on article keep it: a row is written when an article is inserted
(PostgreSQL: once per statement, so a COPY of a chunk of articles is one
INSERT ... SELECT) and rewritten when its text or external id changes; its
batch follows the article's, also when deleting an import batch sets that to
none (the foreign key's SET NULL is an UPDATE of article that fires the
trigger, on both databases); the foreign key's ON DELETE CASCADE removes it
with the article. Both databases count characters, not bytes, as Python's
``len`` does.

``SQLModel.metadata.create_all`` creates the triggers (the event in
models.py); migration 0013 creates them with :func:`create` and fills the
table with :func:`backfill`, and 0014 adds the batch and replaces them.
SQLite drops a table's triggers with the table: a later migration that copies
``article`` (batch mode) must call :func:`create` again.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

# Characters of the text the list shows.
PREVIEW = 160

# The triggers on article, and PostgreSQL's functions they call.
TRIGGERS = ("article_listing_insert", "article_listing_update", "article_listing_batch")
FUNCTIONS = ("article_listing_inserted", "article_listing_changed", "article_listing_moved")


def _columns(*, batch: bool) -> str:
    return "article_id, external_id, preview, length" + (", import_batch_id" if batch else "")


def _values(row: str, *, batch: bool) -> str:
    """Return the listing's values from an article row whose columns ``row`` prefixes (``new.``, or none)."""
    values = f"{row}id, {row}external_id, substr({row}text, 1, {PREVIEW}), length({row}text)"
    return values + (f", {row}import_batch_id" if batch else "")


_UPDATE_SQLITE = f"""CREATE TRIGGER article_listing_update AFTER UPDATE OF text, external_id ON article
    WHEN old.text IS NOT new.text OR old.external_id IS NOT new.external_id BEGIN
        UPDATE article_listing SET external_id = new.external_id,
            preview = substr(new.text, 1, {PREVIEW}), length = length(new.text)
        WHERE article_id = new.id;
    END"""
_BATCH_SQLITE = """CREATE TRIGGER article_listing_batch AFTER UPDATE OF import_batch_id ON article
    WHEN old.import_batch_id IS NOT new.import_batch_id BEGIN
        UPDATE article_listing SET import_batch_id = new.import_batch_id WHERE article_id = new.id;
    END"""


def _sqlite(*, batch: bool) -> list[str]:
    return [
        # Replaced, not kept: the triggers of migration 0013 insert no batch.
        *(f"DROP TRIGGER IF EXISTS {trigger}" for trigger in TRIGGERS),
        f"""CREATE TRIGGER article_listing_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_listing ({_columns(batch=batch)}) VALUES ({_values("new.", batch=batch)});
    END""",
        _UPDATE_SQLITE,
        *([_BATCH_SQLITE] if batch else []),
    ]


def _postgresql(*, batch: bool) -> list[str]:
    statements = [
        f"""CREATE OR REPLACE FUNCTION article_listing_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO article_listing ({_columns(batch=batch)})
        SELECT {_values("", batch=batch)} FROM inserted_articles;
        RETURN NULL;
    END $$""",
        f"""CREATE OR REPLACE FUNCTION article_listing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_listing SET external_id = NEW.external_id,
            preview = substr(NEW.text, 1, {PREVIEW}), length = length(NEW.text)
        WHERE article_id = NEW.id;
        RETURN NULL;
    END $$""",
        *(f"DROP TRIGGER IF EXISTS {trigger} ON article" for trigger in TRIGGERS),
        # Once per statement, over its new rows: one INSERT ... SELECT per COPY, not a call per row.
        """CREATE TRIGGER article_listing_insert AFTER INSERT ON article
        REFERENCING NEW TABLE AS inserted_articles FOR EACH STATEMENT EXECUTE FUNCTION article_listing_inserted()""",
        # Per row: a trigger on some columns (UPDATE OF) may not have transition tables.
        """CREATE TRIGGER article_listing_update AFTER UPDATE OF text, external_id ON article FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.external_id IS DISTINCT FROM NEW.external_id)
        EXECUTE FUNCTION article_listing_changed()""",
    ]
    if batch:
        statements += [
            """CREATE OR REPLACE FUNCTION article_listing_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_listing SET import_batch_id = NEW.import_batch_id WHERE article_id = NEW.id;
        RETURN NULL;
    END $$""",
            # Per row, as the article counters' (schema_extras.py): an import moves no article, and
            # deleting a batch deletes its articles before the batch (services/import_batches.py).
            """CREATE TRIGGER article_listing_batch AFTER UPDATE OF import_batch_id ON article FOR EACH ROW
        WHEN (OLD.import_batch_id IS DISTINCT FROM NEW.import_batch_id)
        EXECUTE FUNCTION article_listing_moved()""",
        ]
    else:
        statements.append("DROP FUNCTION IF EXISTS article_listing_moved()")
    return statements


def create(connection: Connection, *, batch: bool = True) -> None:
    """Create (or replace) the triggers that keep the listing (not its rows: see ``backfill``).

    ``batch=False``: the triggers of migration 0013, before the listing had the import batch.
    """
    dialect = connection.dialect.name
    for statement in _postgresql(batch=batch) if dialect == "postgresql" else _sqlite(batch=batch):
        connection.exec_driver_sql(statement)


def backfill(connection: Connection, *, batch: bool = True) -> None:
    """Fill the listing from the articles stored, in one statement (``batch``: as for ``create``)."""
    connection.exec_driver_sql("DELETE FROM article_listing")
    connection.exec_driver_sql(
        f"INSERT INTO article_listing ({_columns(batch=batch)}) "
        f"SELECT {_values('', batch=batch)} FROM article ORDER BY id"
    )


def backfill_batches(connection: Connection) -> None:
    """Copy each article's import batch into its listing row (migration 0014), in one statement.

    Read from the index on ``article.import_batch_id``, which holds the batch
    and the article id: not from the article rows, where SQLite keeps the batch
    behind the text. Articles without a batch keep the listing's NULL.
    """
    connection.exec_driver_sql(
        "UPDATE article_listing SET import_batch_id = batched.import_batch_id "
        "FROM (SELECT id, import_batch_id FROM article WHERE import_batch_id IS NOT NULL) AS batched "
        "WHERE article_listing.article_id = batched.id"
    )


def drop(connection: Connection) -> None:
    """Drop what dropping the tables leaves behind (PostgreSQL's trigger functions)."""
    if connection.dialect.name == "postgresql":
        for function in FUNCTIONS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
