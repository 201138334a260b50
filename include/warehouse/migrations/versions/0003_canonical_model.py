"""canonical model: core tables per entity, quality gates; per-source staging replaces stg_contacts/stg_orders

Staging tables are now stg_<source>__<stream>, created from the mappings at run time; the next
unify run fills them and the core tables from raw.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:35:47.201737
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('stg_contacts', 'stg_orders'):
        op.drop_table(table)
    op.create_table('addresses',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address_line1', sa.String(length=300), nullable=True),
    sa.Column('address_line2', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id', 'kind')
    )
    op.create_table('campaigns',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    op.create_table('company_records',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('domain', sa.String(length=253), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('company_type', sa.String(length=60), nullable=True),
    sa.Column('address_line1', sa.String(length=300), nullable=True),
    sa.Column('address_line2', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    op.create_table('consents',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('contact_stream', sa.String(length=60), nullable=True),
    sa.Column('contact_record_id', sa.String(length=80), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('explicit', sa.Boolean(), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id', 'channel')
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index('ix_consents_email_match_key', ['email_match_key'], unique=False)

    op.create_table('email_events',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('campaign_id', sa.String(length=60), nullable=False),
    sa.Column('contact_stream', sa.String(length=60), nullable=True),
    sa.Column('contact_record_id', sa.String(length=80), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.create_index('ix_email_events_email_match_key', ['email_match_key'], unique=False)

    op.create_table('identifiers',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=400), nullable=False),
    sa.Column('match_key', sa.String(length=400), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id', 'kind', 'value')
    )
    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identifiers_match_key'), ['match_key'], unique=False)

    op.create_table('order_lines',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=True),
    sa.Column('product_name', sa.String(length=300), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id', 'position')
    )
    op.create_table('order_records',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=True),
    sa.Column('contact_stream', sa.String(length=60), nullable=True),
    sa.Column('contact_record_id', sa.String(length=80), nullable=True),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('order_records', schema=None) as batch_op:
        batch_op.create_index('ix_order_records_contact', ['source', 'contact_stream', 'contact_record_id'], unique=False)

    op.create_table('payments',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('contact_stream', sa.String(length=60), nullable=True),
    sa.Column('contact_record_id', sa.String(length=80), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_to', sa.String(length=400), nullable=True),
    sa.Column('method', sa.String(length=40), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    op.create_table('person_records',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('middle_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('company', sa.String(length=300), nullable=True),
    sa.Column('company_record_id', sa.String(length=80), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_match_key', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_alt', sa.String(length=40), nullable=True),
    sa.Column('address_line1', sa.String(length=300), nullable=True),
    sa.Column('address_line2', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('customer_type', sa.String(length=40), nullable=True),
    sa.Column('email_consent', sa.String(length=20), nullable=False),
    sa.Column('email_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('person_records', schema=None) as batch_op:
        batch_op.create_index('ix_person_records_email_match_key', ['email_match_key'], unique=False)
        batch_op.create_index('ix_person_records_phone', ['phone'], unique=False)
        batch_op.create_index('ix_person_records_phone_alt', ['phone_alt'], unique=False)

    op.create_table('quality_gates',
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('table_name', sa.String(length=120), nullable=False),
    sa.Column('check_name', sa.String(length=120), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('observed', sa.String(length=200), nullable=True),
    sa.Column('expected', sa.String(length=200), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'table_name', 'check_name')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.alter_column('record_id',
               existing_type=sa.VARCHAR(length=80),
               type_=sa.String(length=200),
               existing_nullable=False)
        batch_op.alter_column('rule',
               existing_type=sa.VARCHAR(length=80),
               type_=sa.String(length=200),
               existing_nullable=False)
        batch_op.alter_column('column_name',
               existing_type=sa.VARCHAR(length=60),
               type_=sa.String(length=120),
               existing_nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.alter_column('column_name',
               existing_type=sa.String(length=120),
               type_=sa.VARCHAR(length=60),
               existing_nullable=True)
        batch_op.alter_column('rule',
               existing_type=sa.String(length=200),
               type_=sa.VARCHAR(length=80),
               existing_nullable=False)
        batch_op.alter_column('record_id',
               existing_type=sa.String(length=200),
               type_=sa.VARCHAR(length=80),
               existing_nullable=False)

    op.drop_table('quality_gates')
    with op.batch_alter_table('person_records', schema=None) as batch_op:
        batch_op.drop_index('ix_person_records_phone_alt')
        batch_op.drop_index('ix_person_records_phone')
        batch_op.drop_index('ix_person_records_email_match_key')

    op.drop_table('person_records')
    op.drop_table('payments')
    with op.batch_alter_table('order_records', schema=None) as batch_op:
        batch_op.drop_index('ix_order_records_contact')

    op.drop_table('order_records')
    op.drop_table('order_lines')
    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identifiers_match_key'))

    op.drop_table('identifiers')
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.drop_index('ix_email_events_email_match_key')

    op.drop_table('email_events')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_email_match_key')

    op.drop_table('consents')
    op.drop_table('company_records')
    op.drop_table('campaigns')
    op.drop_table('addresses')
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
