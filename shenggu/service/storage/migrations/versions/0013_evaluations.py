"""per-tenant evaluation test sets and their benchmark runs

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_testsets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("clip_count", sa.Integer(), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("directory", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_testsets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_testsets_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_testsets_created_at"), ["created_at"], unique=False)
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("testset_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["testset_id"], ["evaluation_testsets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_runs_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_runs_testset_id"), ["testset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_runs_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_runs_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_runs_created_at"))
        batch_op.drop_index(batch_op.f("ix_evaluation_runs_job_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_runs_testset_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_runs_tenant_id"))
    op.drop_table("evaluation_runs")
    with op.batch_alter_table("evaluation_testsets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_testsets_created_at"))
        batch_op.drop_index(batch_op.f("ix_evaluation_testsets_tenant_id"))
    op.drop_table("evaluation_testsets")
