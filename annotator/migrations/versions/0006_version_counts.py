"""exact-match counts per pair of versions, for the team dashboard

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Accepted versions are counted at the upgrade, with this release's counting
(services/version_counts); from then on each change counts what it changed.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_count",
        sa.Column("state_id", sa.Integer(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("other", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("other_state_id", sa.Integer(), nullable=True),
        sa.Column("other_version", sa.Integer(), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("mine", sa.Integer(), nullable=False),
        sa.Column("theirs", sa.Integer(), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('state', 'model', 'gold')", name="ck_version_count_kind"),
        sa.ForeignKeyConstraint(["other_state_id"], ["annotation_state.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["state_id"], ["annotation_state.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("state_id", "state_version", "other", "label"),
    )
    from sqlmodel import Session

    from annotator.services.version_counts import count_everything

    # The migration's own connection and transaction: nothing is committed apart from it.
    count_everything(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("version_count")
