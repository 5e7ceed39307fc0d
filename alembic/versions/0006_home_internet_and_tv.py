"""Home internet and TV (issue 17): home tariffs, TV channel packages and options, home accounts
(12-digit contracts) with their own ledger and payments, equipment, daily usage, connection requests
and problem reports, multi-account links and home passwords; sessions and login tickets may now
belong to a home login (their line columns become nullable, a home account column is added)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import mts_portal.core.models

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('home_products',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('name_ru', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fee_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('description_ru', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('description_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('home_tariffs',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name_ru', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('down_mbps', sa.Integer(), nullable=False),
    sa.Column('up_mbps', sa.Integer(), nullable=False),
    sa.Column('tv_package_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('fee_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('cap_kb', sa.BigInteger(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('description_ru', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('description_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('home_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('contact_msisdn', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('tariff_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('balance_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('low_balance_notified', sa.Boolean(), nullable=False),
    sa.Column('period_start', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('period_end', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('period_used_kb', sa.BigInteger(), nullable=False),
    sa.Column('negative_since', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.Column('suspended_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.Column('promo_since', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.Column('persona', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['tariff_code'], ['home_tariffs.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('home_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_accounts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_accounts_contact_msisdn'), ['contact_msisdn'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_accounts_contract'), ['contract'], unique=True)

    op.create_table('home_credentials',
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('home_account_id')
    )
    op.create_table('home_equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ownership', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('rent_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('since', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('home_equipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_equipment_home_account_id'), ['home_account_id'], unique=False)

    op.create_table('home_ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('amount_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('cause_type', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('cause_ref', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('description_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cause_ref', 'kind', 'home_account_id', name='uq_home_ledger_cause')
    )
    with op.batch_alter_table('home_ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_home_ledger_account_created', ['home_account_id', 'created_at'], unique=False)

    op.create_table('home_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'home_account_id')
    )
    with op.batch_alter_table('home_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_links_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_links_home_account_id'), ['home_account_id'], unique=False)

    op.create_table('home_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('amount_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('balance_after_kopecks', sa.BigInteger(), nullable=True),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], ),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('home_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_payments_home_account_id'), ['home_account_id'], unique=False)

    op.create_table('home_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=True),
    sa.Column('contact_msisdn', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('services', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('call_time', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('home_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_requests_home_account_id'), ['home_account_id'], unique=False)
        batch_op.create_index('ix_home_requests_status', ['status'], unique=False)

    op.create_table('home_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('started_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('ended_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['code'], ['home_products.code'], ),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('home_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_home_subscriptions_account_active', ['home_account_id', 'active'], unique=False)

    op.create_table('home_usage_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('home_account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('bytes_down', sa.BigInteger(), nullable=False),
    sa.Column('bytes_up', sa.BigInteger(), nullable=False),
    sa.Column('throttled_bytes', sa.BigInteger(), nullable=False),
    sa.Column('tv_minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['home_account_id'], ['home_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('home_account_id', 'day')
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_home_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('home_account_id', sa.Integer(), nullable=True))
        batch_op.alter_column('login_line_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('selected_line_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_foreign_key('fk_auth_sessions_login_home', 'home_accounts', ['login_home_id'], ['id'])
        batch_op.create_foreign_key('fk_auth_sessions_home_account', 'home_accounts', ['home_account_id'], ['id'])

    with op.batch_alter_table('login_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_account_id', sa.Integer(), nullable=True))
        batch_op.alter_column('line_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_foreign_key('fk_login_tickets_home_account', 'home_accounts', ['home_account_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('login_tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_login_tickets_home_account', type_='foreignkey')
        batch_op.alter_column('line_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('home_account_id')

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_auth_sessions_home_account', type_='foreignkey')
        batch_op.drop_constraint('fk_auth_sessions_login_home', type_='foreignkey')
        batch_op.alter_column('selected_line_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('login_line_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('home_account_id')
        batch_op.drop_column('login_home_id')

    op.drop_table('home_usage_days')
    with op.batch_alter_table('home_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_home_subscriptions_account_active')

    op.drop_table('home_subscriptions')
    with op.batch_alter_table('home_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_home_requests_status')
        batch_op.drop_index(batch_op.f('ix_home_requests_home_account_id'))
        batch_op.drop_index(batch_op.f('ix_home_requests_account_id'))

    op.drop_table('home_requests')
    with op.batch_alter_table('home_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_payments_home_account_id'))

    op.drop_table('home_payments')
    with op.batch_alter_table('home_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_links_home_account_id'))
        batch_op.drop_index(batch_op.f('ix_home_links_account_id'))

    op.drop_table('home_links')
    with op.batch_alter_table('home_ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_home_ledger_account_created')

    op.drop_table('home_ledger_entries')
    with op.batch_alter_table('home_equipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_equipment_home_account_id'))

    op.drop_table('home_equipment')
    op.drop_table('home_credentials')
    with op.batch_alter_table('home_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_accounts_contract'))
        batch_op.drop_index(batch_op.f('ix_home_accounts_contact_msisdn'))
        batch_op.drop_index(batch_op.f('ix_home_accounts_account_id'))

    op.drop_table('home_accounts')
    op.drop_table('home_tariffs')
    op.drop_table('home_products')
