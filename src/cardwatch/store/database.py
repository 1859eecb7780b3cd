"""Connecting to the operational database and migrating it with Alembic.

SQLite (the workspace's file) runs in WAL mode so that readers never wait for the writer, with
``synchronous=FULL``: in WAL mode ``NORMAL`` survives a process crash but may lose the last
commits on a power cut or an OS crash, and an authorisation that was answered must never be lost
(DESIGN: "nothing acknowledged is lost"). FULL costs one fsync of the WAL per commit, well inside
the time a network gives an issuer. Write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on ``busy_timeout`` instead of failing when a read lock cannot be upgraded.

PostgreSQL is used through psycopg 3; its default commit is already durable (synchronous_commit
on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

__all__ = [
    "MIGRATIONS_DIR",
    "WRITE_OPTION",
    "alembic_config",
    "make_engine",
    "normalise_url",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Execution option marking a connection that will write (SQLite then begins IMMEDIATE).
WRITE_OPTION = "cardwatch_write"
_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Pick the installed PostgreSQL driver (psycopg 3) when the URL names none.

    >>> normalise_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("postgres://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` set up for cardwatch (SQLite pragmas, PostgreSQL driver)."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", _BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine, wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the sqlite3 module, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def alembic_config() -> Config:
    """Alembic configured from the package's migrations, without an ``alembic.ini`` file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(target: Engine | str, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` on a database (an engine or a URL).

    Safe to call at every start: an up-to-date database is left as it is.
    """
    engine = target if isinstance(target, Engine) else make_engine(target)
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if not isinstance(target, Engine):
            engine.dispose()
