"""orders: the rate each order's reporting amount was converted at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:05:00

Orders are written by difference; with the rate stored, a changed rate in
mappings/currencies.yaml is found exactly, and an order's rounding is checked only in the run
that inserted it. Orders stored before this revision have none: the next run converts them again.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fx_rate', sa.Numeric(precision=18, scale=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('fx_rate')
