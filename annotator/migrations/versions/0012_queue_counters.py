"""the queue at scale: each article's accept counter and overlap rank, kept by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

``article.accepted_count`` and ``article.overlap_rank``, kept by triggers on
annotation_state (annotator/schema_queue.py) and filled here from the stored
states, with the indexes that let the queue skip the articles that are done.
Adds columns (in place on SQLite: no copy of the article table), indexes and
triggers; every row is kept.
"""

import sqlalchemy as sa
from alembic import op

from annotator import schema_extras, schema_queue

# Written out rather than imported from the models, which may change after this migration.
OPEN_CLAIM = "claimed_at IS NOT NULL AND status IN ('todo', 'in_progress')"

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a constant default in place, where batch mode
    # would copy the whole article table.
    op.add_column("article", sa.Column("accepted_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("article", sa.Column("overlap_rank", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_article_queue", "article", ["accepted_count", "overlap_rank", "id"])
    op.create_index(
        "ix_state_open_claim_article",
        "annotation_state",
        ["article_id"],
        sqlite_where=sa.text(OPEN_CLAIM),
        postgresql_where=sa.text(OPEN_CLAIM),
    )
    bind = op.get_bind()
    schema_queue.create(bind)
    schema_queue.backfill(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for trigger in ("state_accepted_insert", "state_accepted_delete", "state_accepted_update"):
        on = " ON annotation_state" if bind.dialect.name == "postgresql" else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}{on}")
    schema_queue.drop(bind)
    op.drop_index("ix_state_open_claim_article", table_name="annotation_state")
    op.drop_index("ix_article_queue", table_name="article")
    with op.batch_alter_table("article") as batch:
        batch.drop_column("overlap_rank")
        batch.drop_column("accepted_count")
    # On SQLite the batch copies the article table, and its triggers (0011's) go with the old one.
    schema_extras.create(bind)
