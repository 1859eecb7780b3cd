"""A fresh database migrates to exactly the tables the code declares; SQLite is set up durable."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import DBAPIError

from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.sql import SqlStore, open_store
from cardwatch.store.tables import audit, metadata
from cardwatch.workspace import Workspace


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture = {"sqlite": "sqlite_engine", "postgres": "pg_engine"}[request.param]
    return request.getfixturevalue(fixture)


def test_fresh_database_matches_metadata(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == "0004"  # the newest migration


def test_upgrade_from_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    upgrade(url)
    engine = make_engine(url)
    assert "decisions" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_is_wal_and_synchronous_full(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_open_store_uses_the_workspace_database(workspace: Workspace) -> None:
    store = open_store(workspace)
    try:
        assert isinstance(store, SqlStore)
        assert (workspace.home / "cardwatch.db").exists()
    finally:
        store.close()


def test_audit_is_append_only_in_the_database(engine: Engine) -> None:
    from datetime import UTC, datetime

    upgrade(engine)
    with engine.begin() as conn:
        row = {"who": "ana", "action": "a", "target": "t", "at": datetime.now(UTC), "details": {}}
        conn.execute(insert(audit).values(row))
    for statement in ("UPDATE audit SET who = 'mallory'", "DELETE FROM audit"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM audit")).scalars().all() == ["ana"]


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    from alembic import command

    from cardwatch.store.database import alembic_config

    upgrade(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
