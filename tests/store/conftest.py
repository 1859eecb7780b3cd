"""One store fixture, three backends: in memory, SQLite (WAL file), PostgreSQL (own schema).

Migrating is the slow part, so each SQL backend is migrated once per session: SQLite tests copy a
migrated file, PostgreSQL tests share one schema emptied before each test. The migration tests
use their own fresh databases (``sqlite_engine``, ``pg_engine``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cardwatch.store.base import Store
from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore
from cardwatch.store.tables import metadata


def _schema_engine(postgres_url: str) -> Iterator[Engine]:
    schema = f"cw_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine whose connections live in a fresh, empty schema, dropped afterwards."""
    yield from _schema_engine(postgres_url)


@pytest.fixture(scope="session")
def _pg_migrated() -> Iterator[Engine]:
    import os

    url = os.environ.get("CARDWATCH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("CARDWATCH_TEST_DATABASE_URL not set")
    for engine in _schema_engine(url):
        upgrade(engine)
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cardwatch.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cardwatch.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        path = tmp_path / "cardwatch.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        sql = SqlStore(make_engine(f"sqlite:///{path}"))
        yield sql
        sql.close()
    else:
        engine = request.getfixturevalue("_pg_migrated")
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with engine.begin() as conn:
            # The audit table refuses TRUNCATE (migration 0002); only the tests lift that.
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))
        yield SqlStore(engine)
