"""The article list's columns, kept apart from the texts: ``article_listing``, kept by triggers on article.

An article row holds its whole text, a few kilobytes; past about 4 KB SQLite
stores the rest of the row on an overflow page, so reading a text's beginning
or length reads that page too, wherever in the file it lies. At a million
articles a page of the list would read a hundred such pages scattered over
gigabytes. ``article_listing`` (a model) holds what the list shows of each
article, its external id, the text's first ``PREVIEW`` characters and its
length in characters, in rows of a couple of hundred bytes stored in article
order: a page of the list reads a few pages of it.

Triggers on article keep it: a row is written when an article is inserted
(PostgreSQL: once per statement, so a COPY of a chunk of articles is one
INSERT ... SELECT) and rewritten when its text or external id changes; the
foreign key's ON DELETE CASCADE removes it with the article. Both databases
count characters, not bytes, as Python's ``len`` does.

``SQLModel.metadata.create_all`` creates the triggers (the event in
models.py); migration 0013 creates them with :func:`create` and fills the
table with :func:`backfill`. SQLite drops a table's triggers with the table:
a later migration that copies ``article`` (batch mode) must call
:func:`create` again.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

# Characters of the text the list shows.
PREVIEW = 160

_COLUMNS = "article_id, external_id, preview, length"


def _values(row: str) -> str:
    """Return the listing's values from an article row whose columns ``row`` prefixes (``new.``, or none)."""
    return f"{row}id, {row}external_id, substr({row}text, 1, {PREVIEW}), length({row}text)"


_SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS article_listing_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_listing ({_COLUMNS}) VALUES ({_values("new.")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS article_listing_update AFTER UPDATE OF text, external_id ON article
    WHEN old.text IS NOT new.text OR old.external_id IS NOT new.external_id BEGIN
        UPDATE article_listing SET external_id = new.external_id,
            preview = substr(new.text, 1, {PREVIEW}), length = length(new.text)
        WHERE article_id = new.id;
    END""",
]

_POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION article_listing_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO article_listing ({_COLUMNS}) SELECT {_values("")} FROM inserted_articles;
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION article_listing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_listing SET external_id = NEW.external_id,
            preview = substr(NEW.text, 1, {PREVIEW}), length = length(NEW.text)
        WHERE article_id = NEW.id;
        RETURN NULL;
    END $$""",
    # Once per statement, over its new rows: one INSERT ... SELECT per COPY, not a call per row.
    "DROP TRIGGER IF EXISTS article_listing_insert ON article",
    """CREATE TRIGGER article_listing_insert AFTER INSERT ON article
        REFERENCING NEW TABLE AS inserted_articles FOR EACH STATEMENT EXECUTE FUNCTION article_listing_inserted()""",
    # Per row: a trigger on some columns (UPDATE OF) may not have transition tables.
    "DROP TRIGGER IF EXISTS article_listing_update ON article",
    """CREATE TRIGGER article_listing_update AFTER UPDATE OF text, external_id ON article FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.external_id IS DISTINCT FROM NEW.external_id)
        EXECUTE FUNCTION article_listing_changed()""",
]


def create(connection: Connection) -> None:
    """Create the triggers that keep the listing, if missing (not its rows: see ``backfill``)."""
    for statement in _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE:
        connection.exec_driver_sql(statement)


def backfill(connection: Connection) -> None:
    """Fill the listing from the articles stored, in one statement."""
    connection.exec_driver_sql("DELETE FROM article_listing")
    connection.exec_driver_sql(
        f"INSERT INTO article_listing ({_COLUMNS}) SELECT {_values('')} FROM article ORDER BY id"
    )


def drop(connection: Connection) -> None:
    """Drop what dropping the tables leaves behind (PostgreSQL's trigger functions)."""
    if connection.dialect.name == "postgresql":
        for function in ("article_listing_inserted", "article_listing_changed"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
