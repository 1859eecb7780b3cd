"""One store fixture, three backends: in memory, SQLite (WAL file), PostgreSQL (own schema)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cardwatch.store.base import Store
from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine whose connections live in a fresh schema, dropped afterwards."""
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
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cardwatch.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    fixture = {"sqlite": "sqlite_engine", "postgres": "pg_engine"}[request.param]
    engine = request.getfixturevalue(fixture)
    upgrade(engine)
    yield SqlStore(engine)
