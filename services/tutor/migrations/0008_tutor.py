"""tutor: the knowledge tree, sessions with graded attempts, per-student skill mastery

The tree's rows are written by the tutor service on first use, from its data file.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tutor_subjects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_subjects")),
    )
    op.create_table(
        "tutor_topics",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["tutor_subjects.id"],
            name=op.f("fk_tutor_topics_subject_id_tutor_subjects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_topics")),
    )
    with op.batch_alter_table("tutor_topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tutor_topics_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "tutor_skills",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["tutor_topics.id"], name=op.f("fk_tutor_skills_topic_id_tutor_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_skills")),
    )
    with op.batch_alter_table("tutor_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tutor_skills_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "tutor_mastery",
        sa.Column("student", sa.String(length=64), nullable=False),
        sa.Column("skill_id", sa.String(length=64), nullable=False),
        sa.Column("p_known", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "p_known >= 0 AND p_known <= 1", name=op.f("ck_tutor_mastery_p_known_range")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["tutor_skills.id"], name=op.f("fk_tutor_mastery_skill_id_tutor_skills")
        ),
        sa.PrimaryKeyConstraint("student", "skill_id", name=op.f("pk_tutor_mastery")),
    )
    op.create_table(
        "tutor_prerequisites",
        sa.Column("skill_id", sa.String(length=64), nullable=False),
        sa.Column("requires_id", sa.String(length=64), nullable=False),
        sa.CheckConstraint("skill_id <> requires_id", name=op.f("ck_tutor_prerequisites_not_self")),
        sa.ForeignKeyConstraint(
            ["requires_id"],
            ["tutor_skills.id"],
            name=op.f("fk_tutor_prerequisites_requires_id_tutor_skills"),
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["tutor_skills.id"],
            name=op.f("fk_tutor_prerequisites_skill_id_tutor_skills"),
        ),
        sa.PrimaryKeyConstraint("skill_id", "requires_id", name=op.f("pk_tutor_prerequisites")),
    )
    op.create_table(
        "tutor_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student", sa.String(length=64), nullable=False),
        sa.Column("skill_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["tutor_skills.id"], name=op.f("fk_tutor_sessions_skill_id_tutor_skills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_sessions")),
    )
    with op.batch_alter_table("tutor_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tutor_sessions_student"), ["student"], unique=False)

    op.create_table(
        "tutor_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("first_wrong", sa.JSON(), nullable=True),
        sa.Column("hints_used", sa.Integer(), nullable=False),
        sa.Column("mastery", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["tutor_sessions.id"],
            name=op.f("fk_tutor_attempts_session_id_tutor_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_attempts")),
    )
    with op.batch_alter_table("tutor_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tutor_attempts_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tutor_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tutor_attempts_session_id"))

    op.drop_table("tutor_attempts")
    with op.batch_alter_table("tutor_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tutor_sessions_student"))

    op.drop_table("tutor_sessions")
    op.drop_table("tutor_prerequisites")
    op.drop_table("tutor_mastery")
    with op.batch_alter_table("tutor_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tutor_skills_topic_id"))

    op.drop_table("tutor_skills")
    with op.batch_alter_table("tutor_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tutor_topics_subject_id"))

    op.drop_table("tutor_topics")
    op.drop_table("tutor_subjects")
