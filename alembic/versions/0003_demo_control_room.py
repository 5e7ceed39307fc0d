"""The product team's side: control-room sessions, one-time links and audit; demo traffic
settings; presence of open cabinets per process; engine counters per second; scenario runs;
a simulated clock that can pause and run fast; how a subscriber session began

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import mts_portal.core.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('demo_control',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rate_per_s', sa.Float(), nullable=True),
    sa.Column('duplicates', sa.Float(), nullable=False),
    sa.Column('reorder', sa.Float(), nullable=False),
    sa.Column('malformed', sa.Float(), nullable=False),
    sa.Column('late', sa.Float(), nullable=False),
    sa.Column('focus', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('engine_seconds',
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('second', sa.BigInteger(), nullable=False),
    sa.Column('rated', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('blocked', sa.Integer(), nullable=False),
    sa.Column('charged_kopecks', sa.BigInteger(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('latency_hist', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('worker', 'second')
    )
    op.create_table('operator_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('binding_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_hash')
    )
    op.create_table('operator_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('ended_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.Column('ended_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('presence',
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('line_ids', sa.Text(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('seen_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('worker')
    )
    op.create_table('scenario_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('started_at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('ended_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('timeline', sa.Text(), nullable=False),
    sa.Column('outcomes', sa.Text(), nullable=False),
    sa.Column('subscribers', sa.Text(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('stop_requested', sa.Boolean(), nullable=False),
    sa.Column('heartbeat_at', mts_portal.core.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scenario_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_runs_name'), ['name'], unique=False)

    op.create_table('operator_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', mts_portal.core.models.UTCDateTime(), nullable=False),
    sa.Column('operator_session_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['operator_session_id'], ['operator_sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('operator_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_audit_at'), ['at'], unique=False)

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('login_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('sim_clock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speed', sa.Float(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('anchor_wall', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('session_offset', sa.Float(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('sim_clock', schema=None) as batch_op:
        batch_op.drop_column('session_offset')
        batch_op.drop_column('anchor_wall')
        batch_op.drop_column('speed')

    with op.batch_alter_table('login_tickets', schema=None) as batch_op:
        batch_op.drop_column('via')

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('via')

    with op.batch_alter_table('operator_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_audit_at'))

    op.drop_table('operator_audit')
    with op.batch_alter_table('scenario_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_runs_name'))

    op.drop_table('scenario_runs')
    op.drop_table('presence')
    op.drop_table('operator_sessions')
    op.drop_table('operator_links')
    op.drop_table('engine_seconds')
    op.drop_table('demo_control')
