"""Transaction history: Parquet files in the workspace, queried through DuckDB.

Transactions are written once (one Parquet part per import or per batch of live decisions) and
never rewritten; labels that arrive later (chargebacks, cardholder reports, analyst verdicts) are
parts of their own, and the ``transactions`` view lays the latest label over each transaction.
That keeps every import append-only and keeps ``fraud_reported_at``, so any question can be asked
"as of T" without seeing the future.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cardwatch.schema import CARDS_SCHEMA, HISTORY_SCHEMA, Transaction
from cardwatch.workspace import Workspace

__all__ = ["History", "transactions_table"]

_LABELS_SCHEMA = pa.schema(
    [
        HISTORY_SCHEMA.field("txn_id"),
        HISTORY_SCHEMA.field("is_fraud"),
        HISTORY_SCHEMA.field("fraud_reported_at"),
        ("source", pa.string()),
    ]
)


def transactions_table(txns: list[Transaction]) -> pa.Table:
    """Transactions as a ``HISTORY_SCHEMA`` table, in the order given."""
    columns = {name: [getattr(t, name) for t in txns] for name in HISTORY_SCHEMA.names}
    return pa.table(columns, schema=HISTORY_SCHEMA)


class History:
    """The workspace's transaction history and labels."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.dir = workspace.history_dir

    def _parts(self, prefix: str) -> list[Path]:
        return sorted(self.dir.glob(f"{prefix}-*.parquet"))

    def _write(self, prefix: str, table: pa.Table) -> Path:
        # Write to a temporary name, then rename: a reader never sees half a part.
        name = f"{prefix}-{datetime.now().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        final = self.dir / f"{name}.parquet"
        tmp.rename(final)
        return final

    def append(self, table: pa.Table) -> Path:
        """Add transactions (``HISTORY_SCHEMA``; PANs already tokenised)."""
        return self._write("txns", table.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA))

    def append_labels(self, table: pa.Table, source: str = "import") -> Path:
        """Add labels (txn_id, is_fraud, fraud_reported_at); the latest report wins."""
        if "source" not in table.column_names:
            table = table.append_column("source", pa.array([source] * table.num_rows, pa.string()))
        return self._write("labels", table.select(_LABELS_SCHEMA.names).cast(_LABELS_SCHEMA))

    def write_cards(self, table: pa.Table) -> None:
        """Replace-or-merge the cards file: new rows win over old ones for the same card."""
        table = table.select(CARDS_SCHEMA.names).cast(CARDS_SCHEMA)
        if self.ws.cards_path.exists():
            old = pq.read_table(self.ws.cards_path)
            con = duckdb.connect()
            con.register("old_cards", old)
            con.register("new_cards", table)
            table = (
                con.execute(
                    "SELECT * FROM new_cards UNION ALL SELECT * FROM old_cards "
                    "WHERE card_id NOT IN (SELECT card_id FROM new_cards)"
                )
                .to_arrow_table()
                .cast(CARDS_SCHEMA)
            )
        tmp = self.ws.cards_path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.rename(self.ws.cards_path)

    def is_empty(self) -> bool:
        return not self._parts("txns")

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with views ``transactions`` (labels applied) and ``cards``."""
        con = duckdb.connect()
        txns = self._parts("txns")
        if txns:
            files = ", ".join(f"'{p}'" for p in txns)
            con.execute(f"CREATE VIEW raw_transactions AS SELECT * FROM read_parquet([{files}])")
        else:
            con.register("_empty_txns", HISTORY_SCHEMA.empty_table())
            con.execute("CREATE VIEW raw_transactions AS SELECT * FROM _empty_txns")
        labels = self._parts("labels")
        if labels:
            files = ", ".join(f"'{p}'" for p in labels)
            con.execute(
                f"""CREATE VIEW latest_labels AS
                SELECT txn_id, arg_max(is_fraud, fraud_reported_at) AS is_fraud,
                       max(fraud_reported_at) AS fraud_reported_at
                FROM read_parquet([{files}]) GROUP BY txn_id"""
            )
            con.execute(
                """CREATE VIEW transactions AS
                SELECT t.* REPLACE (
                    coalesce(l.is_fraud, t.is_fraud)::TINYINT AS is_fraud,
                    CASE WHEN l.txn_id IS NULL THEN t.fraud_reported_at
                         WHEN l.is_fraud = 1 THEN l.fraud_reported_at END AS fraud_reported_at)
                FROM raw_transactions t LEFT JOIN latest_labels l USING (txn_id)"""
            )
        else:
            con.execute("CREATE VIEW transactions AS SELECT * FROM raw_transactions")
        if self.ws.cards_path.exists():
            con.execute(f"CREATE VIEW cards AS SELECT * FROM read_parquet('{self.ws.cards_path}')")
        else:
            con.register("_empty_cards", CARDS_SCHEMA.empty_table())
            con.execute("CREATE VIEW cards AS SELECT * FROM _empty_cards")
        return con

    def table(self, start: datetime | None = None, end: datetime | None = None) -> pa.Table:
        """Transactions in [start, end), labels applied, sorted by (timestamp, txn_id)."""
        where, params = [], []
        if start is not None:
            where.append("timestamp >= ?")
            params.append(start)
        if end is not None:
            where.append("timestamp < ?")
            params.append(end)
        sql = "SELECT * FROM transactions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY timestamp, txn_id"
        with self.connect() as con:
            return con.sql(sql, params=params).to_arrow_table().cast(HISTORY_SCHEMA)

    def cards(self) -> pa.Table:
        if not self.ws.cards_path.exists():
            return CARDS_SCHEMA.empty_table()
        return pq.read_table(self.ws.cards_path).cast(CARDS_SCHEMA)

    def txn_ids(self) -> set[str]:
        with self.connect() as con:
            rows = con.execute("SELECT txn_id FROM raw_transactions").fetchnumpy()["txn_id"]
        return set(rows.tolist())

    def timestamps_of(self, txn_ids: list[str]) -> dict[str, datetime]:
        with self.connect() as con:
            con.register("wanted", pa.table({"txn_id": pa.array(txn_ids, pa.string())}))
            found = con.sql(
                "SELECT txn_id, timestamp FROM raw_transactions JOIN wanted USING (txn_id)"
            ).to_arrow_table()
        return dict(zip(found["txn_id"].to_pylist(), found["timestamp"].to_pylist(), strict=True))
