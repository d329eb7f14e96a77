"""callback URLs up to 2048 characters

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "callback_url", existing_type=sa.String(length=1000), type_=sa.String(length=2048), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "callback_url", existing_type=sa.String(length=2048), type_=sa.String(length=1000), existing_nullable=True
        )
