"""The customer loop runs on the in-memory store and on a real SQLite store (a copy of one
database migrated once per session, since migrating is the slow part)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardwatch.store.base import Store
from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("customer-template") / "cardwatch.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    path = tmp_path / "cardwatch.db"
    shutil.copy(request.getfixturevalue("_migrated_sqlite"), path)
    sql = SqlStore(make_engine(f"sqlite:///{path}"))
    yield sql
    sql.close()
