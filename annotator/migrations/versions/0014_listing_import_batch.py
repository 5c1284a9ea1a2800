"""the article list's id walk without the articles: each article's import batch in article_listing

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Adds ``article_listing.import_batch_id``, kept by the triggers on article
(annotator/schema_listing.py, replaced here: the insert carries the batch, and
a new trigger follows a change of the article's batch), and copies the batches
of the stored articles in one UPDATE ... FROM, which reads the index on
``article.import_batch_id``, not the texts. The list then walks
``article_listing`` alone to find a page's visible articles
(services/articles.py). No index: the walk goes in article order, along the
primary key, and tests the batch of each row it meets.
"""

import sqlalchemy as sa
from alembic import op

from annotator import schema_listing

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("article_listing", sa.Column("import_batch_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    schema_listing.create(bind)
    schema_listing.backfill_batches(bind)


def downgrade() -> None:
    bind = op.get_bind()
    # 0013's triggers first: they must not name the column any more.
    schema_listing.create(bind, batch=False)
    # SQLite (3.35 on) drops the column in place: a batch copy of the table would break the triggers
    # on article, which name article_listing, while the copy is renamed.
    op.drop_column("article_listing", "import_batch_id")
