"""the article tally: each article's incident cues, and document-level gold tallies

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

``article_cues`` keeps what the tally reads in an article's text (sentences,
days, opening places, incident markers), so a tally after an edit parses
nothing; rows appear as articles are pre-annotated or first tallied, so the
migration writes none. ``gold_tally`` holds tallies imported with ``--origin
gold`` for datasets that label articles, not spans.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_cues",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("cues", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_table(
        "gold_tally",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("tally", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )


def downgrade() -> None:
    op.drop_table("gold_tally")
    op.drop_table("article_cues")
