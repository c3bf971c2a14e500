"""request log: requested model and the routing decision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.add_column(sa.Column("model", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("decision", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.drop_column("fallback")
        batch.drop_column("decision")
        batch.drop_column("model")
