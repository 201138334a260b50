"""initial warehouse schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:25:29.641182
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('customer_metrics',
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('orders_count', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('first_order_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_order_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('days_since_last_order', sa.Integer(), nullable=True),
    sa.Column('avg_days_between_orders', sa.Float(), nullable=True),
    sa.Column('email_consent', sa.String(length=20), nullable=False),
    sa.Column('can_email', sa.Boolean(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('customer_sources',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('matched_by', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('customer_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_sources_customer_id'), ['customer_id'], unique=False)

    op.create_table('customers',
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('company', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('email_consent', sa.String(length=20), nullable=False),
    sa.Column('can_email', sa.Boolean(), nullable=False),
    sa.Column('source_count', sa.Integer(), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('sources', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('extract_runs',
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cursor_from', sa.String(length=40), nullable=True),
    sa.Column('cursor_to', sa.String(length=40), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_loaded', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', 'source', 'stream')
    )
    op.create_table('extract_state',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('cursor_value', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream')
    )
    op.create_table('orders',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_reporting', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts_as_revenue', sa.Boolean(), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)

    op.create_table('pipeline_runs',
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('stage', sa.String(length=60), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stats', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', 'stage')
    )
    op.create_table('quarantine',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('rule', sa.String(length=80), nullable=False),
    sa.Column('column_name', sa.String(length=60), nullable=True),
    sa.Column('value_masked', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id', 'rule')
    )
    op.create_table('raw_records',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_hash', sa.String(length=40), nullable=False),
    sa.Column('cursor_value', sa.String(length=40), nullable=True),
    sa.Column('is_deleted', sa.Boolean(), nullable=False),
    sa.Column('first_loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    op.create_table('segment_members',
    sa.Column('segment', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('segment', 'customer_id')
    )
    op.create_table('stg_contacts',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('company', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('phone_alt', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('email_consent', sa.String(length=20), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('stg_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stg_contacts_email_match_key'), ['email_match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_stg_contacts_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_stg_contacts_phone_alt'), ['phone_alt'], unique=False)

    op.create_table('stg_orders',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('contact_stream', sa.String(length=60), nullable=True),
    sa.Column('contact_record_id', sa.String(length=80), nullable=True),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    op.create_table('sync_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('destination', sa.String(length=40), nullable=False),
    sa.Column('audience', sa.String(length=80), nullable=False),
    sa.Column('tag', sa.String(length=80), nullable=False),
    sa.Column('member_key', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_log_run_id'), ['run_id'], unique=False)

    op.create_table('sync_state',
    sa.Column('destination', sa.String(length=40), nullable=False),
    sa.Column('audience', sa.String(length=80), nullable=False),
    sa.Column('tag', sa.String(length=80), nullable=False),
    sa.Column('member_key', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('destination', 'audience', 'tag', 'member_key')
    )



def downgrade() -> None:

    op.drop_table('sync_state')
    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_log_run_id'))

    op.drop_table('sync_log')
    op.drop_table('stg_orders')
    with op.batch_alter_table('stg_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stg_contacts_phone_alt'))
        batch_op.drop_index(batch_op.f('ix_stg_contacts_phone'))
        batch_op.drop_index(batch_op.f('ix_stg_contacts_email_match_key'))

    op.drop_table('stg_contacts')
    op.drop_table('segment_members')
    op.drop_table('raw_records')
    op.drop_table('quarantine')
    op.drop_table('pipeline_runs')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    op.drop_table('extract_state')
    op.drop_table('extract_runs')
    op.drop_table('customers')
    with op.batch_alter_table('customer_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_sources_customer_id'))

    op.drop_table('customer_sources')
    op.drop_table('customer_metrics')

