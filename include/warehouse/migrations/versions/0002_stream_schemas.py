"""stream schemas for drift detection; longer raw record ids for composite event keys

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_schemas",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("stream", sa.String(length=60), nullable=False),
        sa.Column("field_counts", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("new_fields", sa.Text(), nullable=True),
        sa.Column("vanished_fields", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream"),
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column("raw_records", "record_id", type_=sa.String(length=200), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("raw_records", "record_id", type_=sa.String(length=80), existing_nullable=False)
    op.drop_table("stream_schemas")
