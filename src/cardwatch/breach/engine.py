"""Where the detection SQL runs: a small Protocol with a DuckDB implementation (Spark's is in
:mod:`cardwatch.breach.spark`).

The heavy lifting is plain SQL over a ``transactions`` view, written once in
:mod:`cardwatch.breach.queries`; the few places where DuckDB and Spark SQL spell things
differently (time literals, epoch conversion, hashing) are methods here, so that the two engines
run the same query text and must give the same answer.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Protocol

import duckdb
import pyarrow as pa

__all__ = ["DuckDBEngine", "Engine", "History", "as_utc", "duckdb_engine"]

#: What the core accepts as history: an Arrow table (``HISTORY_SCHEMA``), a DuckDB relation over
#: such rows, or a DuckDB connection that has a ``transactions`` view (``History.connect()``).
History = pa.Table | duckdb.DuckDBPyRelation | duckdb.DuckDBPyConnection


def as_utc(t: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC, as the contract says.

    >>> as_utc(datetime(2013, 12, 1)).isoformat()
    '2013-12-01T00:00:00+00:00'
    """
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class Engine(Protocol):
    """Runs SQL over the view ``transactions`` and returns small results as Arrow."""

    def query(self, sql: str) -> pa.Table: ...

    def register(self, name: str, table: pa.Table) -> None: ...

    def ts(self, t: datetime) -> str:
        """A SQL literal for the instant ``t``."""
        ...

    def epoch_us(self, expr: str) -> str:
        """SQL for microseconds since the epoch (UTC) of a timestamp expression."""
        ...

    def distinct(self, expr: str) -> str:
        """SQL for the number of distinct values of ``expr`` in a group: approximate (HyperLogLog)
        by default, where only ranking and the null's baseline depend on it; exact when the
        engine was asked to be (to compare engines, whose sketches differ)."""
        ...


class DuckDBEngine:
    """Runs the detection SQL on DuckDB: over a connection with a ``transactions`` view, or over
    a relation (queries go through ``relation.query``, so nothing is copied)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        relation: duckdb.DuckDBPyRelation | None = None,
        exact: bool = False,
    ) -> None:
        self.con = con
        self.relation = relation
        self.exact = exact

    def query(self, sql: str) -> pa.Table:
        if self.relation is not None:
            return self.relation.query("transactions", sql).to_arrow_table()
        assert self.con is not None
        return self.con.sql(sql).to_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        if self.relation is not None:
            # A relation does not expose its connection; a temporary table made through it by a
            # replacement scan of the local Arrow table lands in the same connection.
            _cw_small = table
            # A view of that name (registered earlier on the connection) would block it.
            with contextlib.suppress(duckdb.CatalogException):
                self.relation.query("transactions", f"DROP VIEW IF EXISTS {name}")
            self.relation.query(
                "transactions", f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _cw_small"
            )
            return
        assert self.con is not None
        self.con.register(name, table)

    def ts(self, t: datetime) -> str:
        return f"TIMESTAMPTZ '{as_utc(t).isoformat()}'"

    def epoch_us(self, expr: str) -> str:
        return f"epoch_us({expr})"

    def distinct(self, expr: str) -> str:
        return f"count(DISTINCT {expr})" if self.exact else f"approx_count_distinct({expr})"


def duckdb_engine(history: History, exact: bool = False) -> DuckDBEngine:
    """The DuckDB engine for any accepted form of history.

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> duckdb_engine(HISTORY_SCHEMA.empty_table()).query(
    ...     "SELECT count(*) AS n FROM transactions").column("n").to_pylist()
    [0]
    """
    if isinstance(history, pa.Table):
        con = duckdb.connect()
        con.register("transactions", history)
        return DuckDBEngine(con=con, exact=exact)
    if isinstance(history, duckdb.DuckDBPyRelation):
        return DuckDBEngine(relation=history, exact=exact)
    return DuckDBEngine(con=history, exact=exact)
