"""aml data: datasets, accounts, transactions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aml_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("label_level", sa.String(length=16), nullable=True),
        sa.Column("n_accounts", sa.Integer(), nullable=False),
        sa.Column("n_transactions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_aml_datasets_name")),
    )
    op.create_table(
        "aml_accounts",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["aml_datasets.id"],
            name=op.f("fk_aml_accounts_dataset_id_aml_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "key", name=op.f("pk_aml_accounts")),
    )
    op.create_table(
        "aml_transactions",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("txn", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("src", sa.Integer(), nullable=False),
        sa.Column("dst", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=32), nullable=False),
        sa.Column("payment_format", sa.String(length=32), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["aml_datasets.id"],
            name=op.f("fk_aml_transactions_dataset_id_aml_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "txn", name=op.f("pk_aml_transactions")),
    )
    with op.batch_alter_table("aml_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_aml_transactions_dataset_id_src", ["dataset_id", "src"])
        batch_op.create_index("ix_aml_transactions_dataset_id_dst", ["dataset_id", "dst"])


def downgrade() -> None:
    with op.batch_alter_table("aml_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_aml_transactions_dataset_id_dst")
        batch_op.drop_index("ix_aml_transactions_dataset_id_src")
    op.drop_table("aml_transactions")
    op.drop_table("aml_accounts")
    op.drop_table("aml_datasets")
