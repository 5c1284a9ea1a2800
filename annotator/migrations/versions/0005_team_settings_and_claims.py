"""project settings, and claims on articles for team annotation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Work in progress at the upgrade keeps its place: every state with edits
(in progress) becomes an assigned claim, which never lapses, so nobody loses
an article they were working on, even where an article now has more
annotators than the setting asks for. States of articles only opened stay
unclaimed.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("annotation_state") as batch:
        batch.add_column(sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("assigned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.create_index("ix_state_article_status", ["article_id", "status"], unique=False)
    state = sa.table(
        "annotation_state",
        sa.column("status", sa.String()),
        sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("assigned_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    op.execute(
        state.update()
        .where(state.c.status == "in_progress")
        .values(claimed_at=state.c.updated_at, assigned_at=state.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("annotation_state") as batch:
        batch.drop_index("ix_state_article_status")
        batch.drop_column("assigned_at")
        batch.drop_column("claimed_at")
    op.drop_table("project_setting")
