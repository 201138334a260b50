"""identity resolution: links, id history, field lineage, models, issues, companies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:35:18.995716

Customers gain the golden fields survivorship now fills (date of birth, address, company id,
consent time); the new tables hold each link's evidence, every customer id change, each golden
value's source record, trained models, guard reports and the resolved companies.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('companies',
    sa.Column('company_id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('domain', sa.String(length=253), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('sources', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('company_id')
    )
    op.create_table('company_sources',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('company_id', sa.String(length=20), nullable=False),
    sa.Column('matched_by', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'record_id')
    )
    with op.batch_alter_table('company_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_sources_company_id'), ['company_id'], unique=False)

    op.create_table('customer_field_lineage',
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', 'field')
    )
    op.create_table('customer_id_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('old_customer_id', sa.String(length=20), nullable=True),
    sa.Column('new_customer_id', sa.String(length=20), nullable=True),
    sa.Column('change', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_id_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_id_history_new_customer_id'), ['new_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_id_history_old_customer_id'), ['old_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_id_history_run_id'), ['run_id'], unique=False)

    op.create_table('customer_links',
    sa.Column('left_key', sa.String(length=300), nullable=False),
    sa.Column('right_key', sa.String(length=300), nullable=False),
    sa.Column('customer_id', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('match_weight', sa.Float(), nullable=True),
    sa.Column('match_probability', sa.Float(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('left_key', 'right_key')
    )
    with op.batch_alter_table('customer_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_links_customer_id'), ['customer_id'], unique=False)

    op.create_table('identity_issues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=400), nullable=False),
    sa.Column('records', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_issues_run_id'), ['run_id'], unique=False)

    op.create_table('identity_models',
    sa.Column('model_id', sa.String(length=40), nullable=False),
    sa.Column('config_hash', sa.String(length=40), nullable=False),
    sa.Column('model_json', sa.Text(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('model_id')
    )
    if op.get_bind().dialect.name != 'sqlite':  # SQLite does not enforce lengths
        op.alter_column('customer_sources', 'record_id', type_=sa.String(length=200), existing_nullable=False)
        op.alter_column('customer_sources', 'matched_by', type_=sa.String(length=400), existing_nullable=False)
    with op.batch_alter_table('customer_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=16), nullable=True))

    with op.batch_alter_table('person_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked_record_id', sa.String(length=200), nullable=True))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('middle_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('date_of_birth', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('address_line1', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('postcode', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('company_id', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email_consent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_company_id'), ['company_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('person_records', schema=None) as batch_op:
        batch_op.drop_column('linked_record_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_company_id'))
        batch_op.drop_column('email_consent_at')
        batch_op.drop_column('company_id')
        batch_op.drop_column('region')
        batch_op.drop_column('postcode')
        batch_op.drop_column('address_line1')
        batch_op.drop_column('date_of_birth')
        batch_op.drop_column('middle_name')

    with op.batch_alter_table('customer_sources', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('customer_sources', 'record_id', type_=sa.String(length=80), existing_nullable=False)
        op.alter_column('customer_sources', 'matched_by', type_=sa.String(length=200), existing_nullable=False)

    op.drop_table('identity_models')
    with op.batch_alter_table('identity_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_issues_run_id'))

    op.drop_table('identity_issues')
    with op.batch_alter_table('customer_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_links_customer_id'))

    op.drop_table('customer_links')
    with op.batch_alter_table('customer_id_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_id_history_run_id'))
        batch_op.drop_index(batch_op.f('ix_customer_id_history_old_customer_id'))
        batch_op.drop_index(batch_op.f('ix_customer_id_history_new_customer_id'))

    op.drop_table('customer_id_history')
    op.drop_table('customer_field_lineage')
    with op.batch_alter_table('company_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_sources_company_id'))

    op.drop_table('company_sources')
    op.drop_table('companies')
