"""writing: drafts with their checker reports, and 1-5 ratings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "writing_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("style_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("predicted_style", sa.String(length=32), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("revised", sa.Boolean(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("core", sa.String(length=32), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writing_drafts")),
    )
    with op.batch_alter_table("writing_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_writing_drafts_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_writing_drafts_style_id"), ["style_id"], unique=False)

    op.create_table(
        "writing_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_writing_ratings_stars_1_to_5")),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["writing_drafts.id"],
            name=op.f("fk_writing_ratings_draft_id_writing_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writing_ratings")),
    )
    with op.batch_alter_table("writing_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_writing_ratings_draft_id"), ["draft_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("writing_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writing_ratings_draft_id"))
    op.drop_table("writing_ratings")
    with op.batch_alter_table("writing_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writing_drafts_style_id"))
        batch_op.drop_index(batch_op.f("ix_writing_drafts_created_at"))
    op.drop_table("writing_drafts")
