"""predictions: which articles a model source pushed through the API has predicted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Adds a table only: every row is kept as it is.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("spans", sa.Integer(), nullable=False),
        sa.Column("pushed_by_id", sa.Integer(), nullable=True),
        sa.Column("pushed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pushed_by_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("article_id", "source"),
    )
    op.create_index("ix_prediction_source_article", "prediction", ["source", "article_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_prediction_source_article", table_name="prediction")
    op.drop_table("prediction")
