"""The customer loop runs on the in-memory store and on a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cardwatch.store.base import Store
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = SqlStore.open(f"sqlite:///{tmp_path / 'cardwatch.db'}")
    yield sql
    sql.close()
