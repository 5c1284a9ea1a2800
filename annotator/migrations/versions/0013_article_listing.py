"""the article list at scale: each article's listed columns apart from its text, kept by triggers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Adds the table ``article_listing`` (external id, the text's first 160
characters and its length, one row per article) and the triggers on article
that keep it (annotator/schema_listing.py), and fills it from the stored
articles in one INSERT ... SELECT, which reads every text once (about a minute
per million articles). Every row is kept.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from annotator import schema_listing

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_listing",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("preview", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    bind = op.get_bind()
    # As they were before 0014 added the import batch.
    schema_listing.create(bind, batch=False)
    schema_listing.backfill(bind, batch=False)


def downgrade() -> None:
    bind = op.get_bind()
    for trigger in ("article_listing_insert", "article_listing_update"):
        on = " ON article" if bind.dialect.name == "postgresql" else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}{on}")
    schema_listing.drop(bind)
    op.drop_table("article_listing")
