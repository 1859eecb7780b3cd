"""Alembic's environment for the operational database.

Run through ``cardwatch.store.database.upgrade``, which hands over an open connection in
``config.attributes["connection"]``; a URL in ``sqlalchemy.url`` works too (the ``alembic`` command
line). Importing this module outside Alembic does nothing, so the doctest collector may import it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cardwatch.store.database import make_engine
from cardwatch.store.tables import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate through the given connection, else through a new engine on the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


if hasattr(context, "config"):
    run()
