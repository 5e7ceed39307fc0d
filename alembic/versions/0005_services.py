"""Services with something behind them (issue 17b): GOOD'OK melodies, «Вторая память» (the
simulated phone's contacts and call log, backups and their schedule), «Родительский контроль»
(a child's number and its limits), the tariff-change history, and an index for the scheduler's
look-ups of subscriptions by code

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import mts_portal.core.models

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = mts_portal.core.models.UTCDateTime


def _str(n: int):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "tariff_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("from_code", _str(32), nullable=True),
        sa.Column("to_code", _str(32), nullable=False),
        sa.Column("at", UTC_DT(), nullable=False),
        sa.Column("reason", _str(16), nullable=False),
        sa.Column("fee_kopecks", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tariff_changes_line_at", "tariff_changes", ["line_id", "at"], unique=False)
    # lines that exist already: their current tariff starts the history (earlier changes were not kept)
    op.execute("INSERT INTO tariff_changes (line_id, from_code, to_code, at, reason, fee_kopecks) "
               "SELECT id, NULL, tariff_code, created_at, 'backfill', 0 FROM lines")
    op.create_table(
        "goodok_choices",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("melody_code", _str(32), nullable=False),
        sa.Column("chosen_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("line_id"),
    )
    op.create_table(
        "goodok_purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("melody_code", _str(32), nullable=False),
        sa.Column("price_kopecks", sa.BigInteger(), nullable=False),
        sa.Column("bought_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id", "melody_code"),
    )
    op.create_table(
        "phone_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("name", _str(80), nullable=False),
        sa.Column("number", _str(16), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phone_contacts_line", "phone_contacts", ["line_id"], unique=False)
    op.create_table(
        "phone_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("peer", _str(32), nullable=False),
        sa.Column("direction", _str(3), nullable=False),
        sa.Column("started_at", UTC_DT(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id", "peer", "started_at", "direction"),
    )
    op.create_index("ix_phone_calls_line_started", "phone_calls", ["line_id", "started_at"], unique=False)
    op.create_table(
        "phone_states",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("contacts_ready", sa.Boolean(), nullable=False),
        sa.Column("calls_synced_until", UTC_DT(), nullable=True),
        sa.Column("calls_cleared_at", UTC_DT(), nullable=True),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("line_id"),
    )
    op.create_table(
        "memory_schedules",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("frequency", _str(8), nullable=False),
        sa.Column("next_at", UTC_DT(), nullable=True),
        sa.Column("updated_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("line_id"),
    )
    op.create_table(
        "memory_backups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.Column("trigger", _str(8), nullable=False),
        sa.Column("contacts_count", sa.Integer(), nullable=False),
        sa.Column("calls_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_memory_backups_line_created", "memory_backups", ["line_id", "created_at"], unique=False)
    op.create_table(
        "parental_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_line_id", sa.Integer(), nullable=False),
        sa.Column("child_line_id", sa.Integer(), nullable=False),
        sa.Column("status", _str(8), nullable=False),
        sa.Column("via", _str(8), nullable=False),
        sa.Column("spend_limit_kopecks", sa.BigInteger(), nullable=True),
        sa.Column("night_data_off", sa.Boolean(), nullable=False),
        sa.Column("blocked_content", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.Column("updated_at", UTC_DT(), nullable=False),
        sa.Column("ended_at", UTC_DT(), nullable=True),
        sa.ForeignKeyConstraint(["child_line_id"], ["lines.id"]),
        sa.ForeignKeyConstraint(["parent_line_id"], ["lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_parental_links_child_line_id"), "parental_links", ["child_line_id"], unique=False)
    op.create_index(op.f("ix_parental_links_parent_line_id"), "parental_links", ["parent_line_id"], unique=False)
    op.create_index("ix_subscriptions_code_active", "subscriptions", ["code", "active"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_subscriptions_code_active", table_name="subscriptions")
    op.drop_index(op.f("ix_parental_links_parent_line_id"), table_name="parental_links")
    op.drop_index(op.f("ix_parental_links_child_line_id"), table_name="parental_links")
    op.drop_table("parental_links")
    op.drop_index("ix_memory_backups_line_created", table_name="memory_backups")
    op.drop_table("memory_backups")
    op.drop_table("memory_schedules")
    op.drop_table("phone_states")
    op.drop_index("ix_phone_calls_line_started", table_name="phone_calls")
    op.drop_table("phone_calls")
    op.drop_index("ix_phone_contacts_line", table_name="phone_contacts")
    op.drop_table("phone_contacts")
    op.drop_table("goodok_purchases")
    op.drop_table("goodok_choices")
    op.drop_index("ix_tariff_changes_line_at", table_name="tariff_changes")
    op.drop_table("tariff_changes")
