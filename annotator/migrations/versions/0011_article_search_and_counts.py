"""article list at scale: full-text search, id-prefix index, article counters, flagged-state index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Adds a table, indexes, triggers and (PostgreSQL) a generated column; fills the
full-text index and the counters from the articles already stored. Every row is
kept. On PostgreSQL the generated column rewrites the article table once (about
a minute per million articles); on SQLite the FTS rebuild reads every text.
"""

import sqlalchemy as sa
from alembic import op

from annotator import schema_extras

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FLAGGED = sa.text("status = 'flagged'")


def upgrade() -> None:
    op.create_table(
        "article_count",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_index(
        "ix_state_flagged_article",
        "annotation_state",
        ["article_id"],
        unique=False,
        sqlite_where=FLAGGED,
        postgresql_where=FLAGGED,
    )
    connection = op.get_bind()
    schema_extras.create(connection)
    schema_extras.backfill(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for trigger in ("article_count_insert", "article_count_delete", "article_count_move"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON article")
        for index in schema_extras.EXTRA_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        connection.exec_driver_sql("ALTER TABLE article DROP COLUMN IF EXISTS text_search")
    else:
        for trigger in (
            "article_after_insert",
            "article_after_delete",
            "article_after_text_update",
            "article_after_batch_update",
        ):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    schema_extras.drop(connection)
    op.drop_index("ix_state_flagged_article", table_name="annotation_state")
    op.drop_table("article_count")
