"""Schema the models cannot declare: the full-text index of article texts and the article counters.

Both are kept current by the database itself (triggers, a generated column), so
that every writer of articles (the importer's ORM inserts, PostgreSQL's COPY,
deletions, the cleanup of a crashed import) keeps them right without knowing
about them.

- **Full text.** SQLite: an FTS5 table ``article_fts`` whose content is
  ``article.text`` (external content, rowid = ``article.id``), with triggers
  on insert, delete and update of the text. PostgreSQL: a generated stored
  column ``article.text_search`` = ``to_tsvector('simple', ...)`` with a GIN
  index. A tsvector may not exceed 1 MB; the first ``TSVECTOR_PREFIX``
  characters of a text always fit (at most about 6.5 bytes of tsvector per
  character), so only those are indexed on PostgreSQL: words beyond them are
  not found there. Both tokenize alike: lower case, no stemming, no stop words,
  accents kept.
- **Id prefixes.** PostgreSQL: an index with ``text_pattern_ops`` on
  ``external_id``, so ``LIKE 'prefix%'`` uses it whatever the collation.
  SQLite's unique index serves a range condition (services/articles.py).
- **Article counters.** ``article_count`` (a model) holds how many articles
  each import batch has (batch 0: none). Insert, delete and moving an article
  to another batch (deleting a batch sets it to none) adjust it in the same
  transaction, so the count of visible articles is a sum over a few rows, exact
  at any size. PostgreSQL counts once per statement (a COPY of a million rows
  is one update).

``SQLModel.metadata.create_all`` creates all of it (events below); migration
0011 creates it on existing databases with :func:`create`. SQLite drops a
table's triggers with the table: a later migration that copies ``article``
(batch mode) must call :func:`create` again.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

# Characters of a text indexed on PostgreSQL (see above).
TSVECTOR_PREFIX = 100_000
# The text-search configuration: no stemming, no stop words, as SQLite's unicode61 tokenizer.
TS_CONFIG = "simple"

FTS_TABLE = "article_fts"
# What the database holds besides the models; schema comparisons (tests, autogenerate) skip it.
EXTRA_TABLES = frozenset(
    {FTS_TABLE, *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config"))}
)
EXTRA_COLUMNS = frozenset({("article", "text_search")})
EXTRA_INDEXES = frozenset({"ix_article_text_search", "ix_article_external_id_pattern"})

_SQLITE = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        text, content='article', content_rowid='id', tokenize='unicode61 remove_diacritics 0')""",
    f"""CREATE TRIGGER IF NOT EXISTS article_after_insert AFTER INSERT ON article BEGIN
        INSERT INTO {FTS_TABLE} (rowid, text) VALUES (new.id, new.text);
        INSERT INTO article_count (batch_id, articles) SELECT coalesce(new.import_batch_id, 0), 0
            WHERE NOT EXISTS (SELECT 1 FROM article_count WHERE batch_id = coalesce(new.import_batch_id, 0));
        UPDATE article_count SET articles = articles + 1 WHERE batch_id = coalesce(new.import_batch_id, 0);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS article_after_delete AFTER DELETE ON article BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        UPDATE article_count SET articles = articles - 1 WHERE batch_id = coalesce(old.import_batch_id, 0);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS article_after_text_update AFTER UPDATE OF text ON article BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO {FTS_TABLE} (rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS article_after_batch_update AFTER UPDATE OF import_batch_id ON article
    WHEN old.import_batch_id IS NOT new.import_batch_id BEGIN
        UPDATE article_count SET articles = articles - 1 WHERE batch_id = coalesce(old.import_batch_id, 0);
        INSERT INTO article_count (batch_id, articles) SELECT coalesce(new.import_batch_id, 0), 0
            WHERE NOT EXISTS (SELECT 1 FROM article_count WHERE batch_id = coalesce(new.import_batch_id, 0));
        UPDATE article_count SET articles = articles + 1 WHERE batch_id = coalesce(new.import_batch_id, 0);
    END""",
]

_POSTGRESQL = [
    f"""ALTER TABLE article ADD COLUMN IF NOT EXISTS text_search tsvector
        GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', left(text, {TSVECTOR_PREFIX}))) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_article_text_search ON article USING gin (text_search)",
    "CREATE INDEX IF NOT EXISTS ix_article_external_id_pattern ON article (external_id text_pattern_ops)",
    """CREATE OR REPLACE FUNCTION article_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO article_count (batch_id, articles)
        SELECT coalesce(import_batch_id, 0), count(*) FROM inserted_articles GROUP BY 1
        ON CONFLICT (batch_id) DO UPDATE SET articles = article_count.articles + excluded.articles;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION article_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_count SET articles = article_count.articles - gone.articles
        FROM (SELECT coalesce(import_batch_id, 0) AS batch_id, count(*) AS articles
              FROM deleted_articles GROUP BY 1) AS gone
        WHERE article_count.batch_id = gone.batch_id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION article_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_count SET articles = articles - 1 WHERE batch_id = coalesce(OLD.import_batch_id, 0);
        INSERT INTO article_count (batch_id, articles) VALUES (coalesce(NEW.import_batch_id, 0), 1)
        ON CONFLICT (batch_id) DO UPDATE SET articles = article_count.articles + 1;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS article_count_insert ON article",
    """CREATE TRIGGER article_count_insert AFTER INSERT ON article
        REFERENCING NEW TABLE AS inserted_articles FOR EACH STATEMENT EXECUTE FUNCTION article_count_inserted()""",
    "DROP TRIGGER IF EXISTS article_count_delete ON article",
    """CREATE TRIGGER article_count_delete AFTER DELETE ON article
        REFERENCING OLD TABLE AS deleted_articles FOR EACH STATEMENT EXECUTE FUNCTION article_count_deleted()""",
    "DROP TRIGGER IF EXISTS article_count_move ON article",
    """CREATE TRIGGER article_count_move AFTER UPDATE OF import_batch_id ON article FOR EACH ROW
        WHEN (OLD.import_batch_id IS DISTINCT FROM NEW.import_batch_id) EXECUTE FUNCTION article_count_moved()""",
]


def create(connection: Connection) -> None:
    """Create the full-text index, the counters' triggers and their indexes, if missing (not the data)."""
    statements = _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        connection.exec_driver_sql(statement)


def backfill(connection: Connection) -> None:
    """Fill the full-text index and the counters from the articles already stored."""
    if connection.dialect.name == "sqlite":
        # The generated column fills itself on PostgreSQL.
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")
    connection.exec_driver_sql("DELETE FROM article_count")
    connection.exec_driver_sql(
        "INSERT INTO article_count (batch_id, articles) "
        "SELECT coalesce(import_batch_id, 0), count(*) FROM article GROUP BY coalesce(import_batch_id, 0)"
    )


def drop(connection: Connection) -> None:
    """Drop what the tables' own drop leaves behind (SQLite's FTS table, PostgreSQL's functions)."""
    if connection.dialect.name == "postgresql":
        for function in ("article_count_inserted", "article_count_deleted", "article_count_moved"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name``: leave out of schema comparisons what this module creates."""
    if type_ == "table":
        return name not in EXTRA_TABLES
    if type_ == "column":
        return (parent_names.get("table_name"), name) not in EXTRA_COLUMNS
    if type_ == "index":
        return name not in EXTRA_INDEXES
    return True


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(_metadata, connection: Connection, **_kw) -> None:
    create(connection)


@event.listens_for(SQLModel.metadata, "after_drop")
def _after_drop(_metadata, connection: Connection, **_kw) -> None:
    drop(connection)
