"""codegen: runs, candidates and their sandbox attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:39.895063
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "codegen_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("tests", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("max_rounds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("best_candidate", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codegen_runs")),
    )
    with op.batch_alter_table("codegen_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_codegen_runs_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "codegen_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("core", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["codegen_runs.id"],
            name=op.f("fk_codegen_candidates_run_id_codegen_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codegen_candidates")),
    )
    with op.batch_alter_table("codegen_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_codegen_candidates_run_id"), ["run_id"], unique=False)

    op.create_table(
        "codegen_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stderr", sa.Text(), nullable=False),
        sa.Column("compile_output", sa.Text(), nullable=False),
        sa.Column("wall_s", sa.Float(), nullable=False),
        sa.Column("cpu_s", sa.Float(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["codegen_candidates.id"],
            name=op.f("fk_codegen_attempts_candidate_id_codegen_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codegen_attempts")),
    )
    with op.batch_alter_table("codegen_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_codegen_attempts_candidate_id"), ["candidate_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("codegen_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codegen_attempts_candidate_id"))

    op.drop_table("codegen_attempts")
    with op.batch_alter_table("codegen_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codegen_candidates_run_id"))

    op.drop_table("codegen_candidates")
    with op.batch_alter_table("codegen_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codegen_runs_created_at"))

    op.drop_table("codegen_runs")
