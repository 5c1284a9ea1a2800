"""streamed imports: an import batch's state and lease

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Adds columns only. Every existing batch is committed (the server default), so
every stored article stays visible.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

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


def downgrade() -> None:
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("state")
