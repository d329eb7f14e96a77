"""per-tenant quality-inspection rulesets (versioned) and inspections

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_rulesets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    with op.batch_alter_table("qa_rulesets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_rulesets_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "qa_ruleset_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ruleset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ruleset_id"], ["qa_rulesets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ruleset_id", "version"),
    )
    with op.batch_alter_table("qa_ruleset_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_ruleset_versions_ruleset_id"), ["ruleset_id"], unique=False)
    op.create_table(
        "qa_inspections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("ruleset", sa.String(length=64), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=True),
        sa.Column("batch", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qa_inspections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_inspections_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_inspections_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_inspections_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qa_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_inspections_created_at"))
        batch_op.drop_index(batch_op.f("ix_qa_inspections_job_id"))
        batch_op.drop_index(batch_op.f("ix_qa_inspections_tenant_id"))
    op.drop_table("qa_inspections")
    with op.batch_alter_table("qa_ruleset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_ruleset_versions_ruleset_id"))
    op.drop_table("qa_ruleset_versions")
    with op.batch_alter_table("qa_rulesets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_rulesets_tenant_id"))
    op.drop_table("qa_rulesets")
