"""The service tests' stores: in memory, SQLite (a migrated file) and PostgreSQL (a schema of
its own, dropped afterwards; skipped without CARDWATCH_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.store.conftest import _schema_engine

from cardwatch.store.base import Store
from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore

KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _sqlite_engine(path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def opened(kind: str, tmp_path: Path, cls: type[SqlStore] = SqlStore) -> Iterator[Store]:
    """A fresh, migrated store of ``kind`` (``cls`` for the SQL ones, a subclass in tests that
    make it fail)."""
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "sqlite":
        engines = _sqlite_engine(tmp_path / "cardwatch.db")
    else:
        url = os.environ.get("CARDWATCH_TEST_DATABASE_URL")
        if not url:
            pytest.skip("CARDWATCH_TEST_DATABASE_URL not set")
        engines = _schema_engine(url)
    for engine in engines:  # one engine; the generator drops what it made once resumed
        upgrade(engine)
        store = cls(engine)
        try:
            yield store
        finally:
            store.close()
