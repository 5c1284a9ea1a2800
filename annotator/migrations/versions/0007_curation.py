"""adjudication: draft gold per article, its edit log, reviewers' notes, gold span provenance

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Adds columns and tables only: every row is kept as it is.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curation",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("next_span_id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_by_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("version >= 0", name="ck_curation_version_nonnegative"),
        sa.CheckConstraint("strategy IN ('unanimous', 'majority')", name="ck_curation_strategy"),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["started_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["finished_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_table(
        "curation_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("added", sa.JSON(), nullable=False),
        sa.Column("decisions_before", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["curation.article_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version", name="uq_curation_edit_article_version"),
    )
    op.add_column("span", sa.Column("provenance", sa.JSON(), nullable=True))
    # On SQLite this copies annotation_state, to add the foreign key; migrations there run with
    # foreign keys off (env.py), so the copy cascades nothing.
    with op.batch_alter_table("annotation_state") as batch:
        batch.add_column(sa.Column("reviewer_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewer_note_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewer_note_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_annotation_state_reviewer_note_by_id",
            "user_account",
            ["reviewer_note_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("annotation_state") as batch:
        batch.drop_constraint("fk_annotation_state_reviewer_note_by_id", type_="foreignkey")
        batch.drop_column("reviewer_note_at")
        batch.drop_column("reviewer_note_by_id")
        batch.drop_column("reviewer_note")
    with op.batch_alter_table("span") as batch:
        batch.drop_column("provenance")
    op.drop_table("curation_edit")
    op.drop_table("curation")
