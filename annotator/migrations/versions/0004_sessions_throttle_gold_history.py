"""server-side sessions, login throttling, gold revisions, undo by offsets

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Existing gold spans become each article's first gold revision, so the history
starts with what the database held.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Articles whose gold is snapshotted per round of the data migration.
CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)

    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_key_failed_at", "login_failure", ["key", "failed_at"], unique=False)

    gold_revision = op.create_table(
        "gold_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "action IN ('import', 'promote', 'restore', 'adjudicate')", name="ck_gold_revision_action"
        ),
        sa.CheckConstraint("revision >= 1", name="ck_gold_revision_positive"),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "revision", name="uq_gold_revision_article_revision"),
    )

    # Undo finds spans by their offsets now; an id it kept could name someone else's span.
    with op.batch_alter_table("span_edit") as batch:
        batch.drop_column("span_id")

    _snapshot_existing_gold(gold_revision)


def _snapshot_existing_gold(gold_revision: sa.Table) -> None:
    connection = op.get_bind()
    span = sa.table(
        "span",
        sa.column("article_id", sa.Integer()),
        sa.column("start", sa.Integer()),
        sa.column("end", sa.Integer()),
        sa.column("label", sa.String()),
        sa.column("attrs", sa.JSON()),
        sa.column("origin", sa.String()),
    )
    now = datetime.now(UTC)
    last_id = 0
    while True:
        article_ids = (
            connection.execute(
                sa.select(span.c.article_id)
                .where(span.c.origin == "gold", span.c.article_id > last_id)
                .group_by(span.c.article_id)
                .order_by(span.c.article_id)
                .limit(CHUNK)
            )
            .scalars()
            .all()
        )
        if not article_ids:
            return
        snapshots: dict[int, list[dict]] = {article_id: [] for article_id in article_ids}
        rows = connection.execute(
            sa.select(span.c.article_id, span.c.start, span.c.end, span.c.label, span.c.attrs)
            .where(span.c.origin == "gold", span.c.article_id.in_(article_ids))
            .order_by(span.c.article_id, span.c.start, span.c.end)
        )
        for article_id, start, end, label, attrs in rows:
            if isinstance(attrs, str):  # SQLite hands JSON back as text to a bare column
                attrs = json.loads(attrs)
            snapshots[article_id].append({"start": start, "end": end, "label": label, "attrs": attrs or {}})
        connection.execute(
            gold_revision.insert(),
            [
                {
                    "article_id": article_id,
                    "revision": 1,
                    "action": "import",
                    "source": "gold spans stored before gold revisions were kept",
                    "spans": spans,
                    "created_at": now,
                }
                for article_id, spans in snapshots.items()
            ],
        )
        last_id = article_ids[-1]


def downgrade() -> None:
    with op.batch_alter_table("span_edit") as batch:
        batch.add_column(sa.Column("span_id", sa.Integer(), nullable=True))
    op.drop_table("gold_revision")
    op.drop_index("ix_login_failure_key_failed_at", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("is_active")
