"""Alembic environment: the store named by MTS_DB_URL (or the connection handed in)."""

from sqlmodel import SQLModel

import mts_portal.core.models  # noqa: F401  (registers the tables)
from alembic import context
from mts_portal.core.db import get_engine

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_offline() -> None:
    from mts_portal.core.db import normalize_url
    from mts_portal.core.settings import get_settings

    context.configure(
        url=normalize_url(config.get_main_option("sqlalchemy.url") or get_settings().db_url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or None
    with get_engine(url).connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
