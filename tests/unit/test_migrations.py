"""The store is made by migrating: the migrated schema must be exactly what the models say."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from mts_portal.core.migrate import current_revision, head_revision


def test_migrations_match_the_models(store):
    assert current_revision(store) == head_revision()
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []
