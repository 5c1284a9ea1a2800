"""streamed imports: an import batch's state and lease; the queue's accept counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Adds columns only. Every existing batch is committed (the server default), so
every stored article stays visible.

The queue (issue 12): ``article.accepted_count`` and ``article.overlap_rank``,
kept by triggers on annotation_state (annotator/schema_queue.py) and filled
here from the stored states, with the indexes that let the queue skip the
articles that are done.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from annotator import schema_queue

# Written out rather than imported from the models, which may change after this migration.
OPEN_CLAIM = "claimed_at IS NOT NULL AND status IN ('todo', 'in_progress')"

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(
            sa.Column(
                "state",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                server_default="committed",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
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
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("state")
