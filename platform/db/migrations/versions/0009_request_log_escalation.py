"""request log: the service asking, where from (API or app), and its checker-driven attempts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.add_column(sa.Column("service", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("source", sa.String(length=8), nullable=False, server_default="api")
        )
        batch.add_column(sa.Column("verified", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("attempts", sa.JSON(), nullable=True))
        batch.create_index("ix_request_log_service", ["service"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.drop_index("ix_request_log_service")
        batch.drop_column("attempts")
        batch.drop_column("escalated")
        batch.drop_column("verified")
        batch.drop_column("source")
        batch.drop_column("service")
