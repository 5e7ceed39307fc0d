"""«Ноль без границ» counter of the previous period; login tickets bound to their browser;
payments keep the balance they answered; English descriptions of ledger and bonus rows;
bundle notices no longer kept per bucket

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lines") as batch:
        batch.add_column(sa.Column("nbg_prev_free_minutes_used", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("login_tickets") as batch:
        batch.add_column(sa.Column("binding_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("balance_after_kopecks", sa.BigInteger(), nullable=True))
    # what a movement of money or points was, in English too (the portal's English switch)
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("description_en", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("bonus_entries") as batch:
        batch.add_column(sa.Column("description_en", sa.String(), nullable=False, server_default=""))
    # 80 % / 100 % notices are decided on the whole of a kind's bundles as it is crossed (charging.py)
    with op.batch_alter_table("buckets") as batch:
        batch.drop_column("notified_80")
        batch.drop_column("notified_100")


def downgrade() -> None:
    with op.batch_alter_table("buckets") as batch:
        batch.add_column(sa.Column("notified_100", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("notified_80", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("balance_after_kopecks")
    with op.batch_alter_table("bonus_entries") as batch:
        batch.drop_column("description_en")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("description_en")
    with op.batch_alter_table("login_tickets") as batch:
        batch.drop_column("binding_hash")
    with op.batch_alter_table("lines") as batch:
        batch.drop_column("nbg_prev_free_minutes_used")
