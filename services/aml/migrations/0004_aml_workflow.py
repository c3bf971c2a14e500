"""aml workflow: runs, alerts, cases, audit trail, narratives

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:51:13.551896
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aml_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["aml_datasets.id"],
            name=op.f("fk_aml_runs_dataset_id_aml_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_runs")),
    )
    with op.batch_alter_table("aml_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aml_runs_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "aml_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("transactions", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["aml_runs.id"],
            name=op.f("fk_aml_alerts_run_id_aml_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_alerts")),
        sa.UniqueConstraint("run_id", "rank", name=op.f("uq_aml_alerts_run_id")),
    )
    with op.batch_alter_table("aml_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aml_alerts_run_id"), ["run_id"], unique=False)

    op.create_table(
        "aml_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["aml_alerts.id"],
            name=op.f("fk_aml_cases_alert_id_aml_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_cases")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_aml_cases_alert_id")),
    )
    with op.batch_alter_table("aml_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aml_cases_status"), ["status"], unique=False)

    op.create_table(
        "aml_case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["aml_cases.id"],
            name=op.f("fk_aml_case_events_case_id_aml_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_case_events")),
    )
    with op.batch_alter_table("aml_case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aml_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "aml_narratives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("core", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("check", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["aml_cases.id"],
            name=op.f("fk_aml_narratives_case_id_aml_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_narratives")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_aml_narratives_case_id")),
    )
    with op.batch_alter_table("aml_narratives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aml_narratives_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("aml_narratives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aml_narratives_case_id"))

    op.drop_table("aml_narratives")
    with op.batch_alter_table("aml_case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aml_case_events_case_id"))

    op.drop_table("aml_case_events")
    with op.batch_alter_table("aml_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aml_cases_status"))

    op.drop_table("aml_cases")
    with op.batch_alter_table("aml_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aml_alerts_run_id"))

    op.drop_table("aml_alerts")
    with op.batch_alter_table("aml_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aml_runs_dataset_id"))

    op.drop_table("aml_runs")
