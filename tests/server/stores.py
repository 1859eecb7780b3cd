"""The service tests' stores: in memory, SQLite (a migrated file) and PostgreSQL (a schema of
its own, dropped afterwards; skipped without CARDWATCH_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from cardwatch.store.base import Store
from cardwatch.store.database import make_engine, upgrade
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore

KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def opened(kind: str, tmp_path: Path, cls: type[SqlStore] = SqlStore) -> Iterator[Store]:
    """A fresh, migrated store of ``kind`` (``cls`` for the SQL ones, a subclass in tests that
    make it fail)."""
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'cardwatch.db'}")
        upgrade(engine)
        store = cls(engine)
        try:
            yield store
        finally:
            store.close()
        return
    url = os.environ.get("CARDWATCH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("CARDWATCH_TEST_DATABASE_URL not set")
    schema = f"cw_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        store = cls(engine)
        try:
            yield store
        finally:
            store.close()
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
