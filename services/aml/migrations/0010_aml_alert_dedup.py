"""aml alerts: deduplicated across runs (dataset, fingerprint), with what the table shows

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00

An alert is the same alert when a later run of the same dataset raises it for the same account
and patterns (its fingerprint): that run updates it instead of storing a copy with a new id.
Existing rows get their dataset and fingerprint; old duplicates stay as they were (their cases
point at them), and the newest of them is the one a later run updates.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("aml_alerts") as batch:
        batch.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("first_run_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("runs_seen", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(sa.Column("hits", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("amount", sa.Float(), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("first_ts", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_ts", sa.BigInteger(), nullable=True))
        batch.create_index(
            "ix_aml_alerts_dataset_id_fingerprint", ["dataset_id", "fingerprint"], unique=False
        )
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE aml_alerts SET first_run_id = run_id, dataset_id = "
            "(SELECT dataset_id FROM aml_runs WHERE aml_runs.id = aml_alerts.run_id)"
        )
    )
    rows = bind.execute(sa.text("SELECT id, account_key, patterns FROM aml_alerts")).all()
    for alert_id, account_key, patterns in rows:
        names = json.loads(patterns) if isinstance(patterns, str) else patterns
        fingerprint = f"{account_key}:{'+'.join(sorted(names or []))}"
        bind.execute(
            sa.text("UPDATE aml_alerts SET fingerprint = :f WHERE id = :id"),
            {"f": fingerprint[:300], "id": alert_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("aml_alerts") as batch:
        batch.drop_index("ix_aml_alerts_dataset_id_fingerprint")
        for column in (
            "last_ts",
            "first_ts",
            "currency",
            "amount",
            "hits",
            "runs_seen",
            "first_run_id",
            "fingerprint",
            "dataset_id",
        ):
            batch.drop_column(column)
