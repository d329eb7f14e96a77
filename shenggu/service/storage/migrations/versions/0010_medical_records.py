"""per-tenant clinical records (medical dictation and consultations)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "medical_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("medical_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_medical_records_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_medical_records_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_medical_records_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("medical_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medical_records_created_at"))
        batch_op.drop_index(batch_op.f("ix_medical_records_job_id"))
        batch_op.drop_index(batch_op.f("ix_medical_records_tenant_id"))
    op.drop_table("medical_records")
