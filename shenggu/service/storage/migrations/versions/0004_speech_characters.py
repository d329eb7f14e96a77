"""speech synthesis: character quota and metering

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_characters_per_day", sa.Integer(), nullable=True))
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("characters", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_column("characters")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("quota_characters_per_day")
