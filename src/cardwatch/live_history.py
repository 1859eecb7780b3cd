"""What the service knows, as one ``transactions`` relation: the workspace's imported history,
the payments the service decided since that history ends (the store's decisions, with their
tokenised transaction) and the labels posted to ``/v1/labels`` or given by analysts and
cardholders (the store's labels, each from its reported time) laid over both.

Breach detection, exposure and triage read it wherever a store is at hand — the daily detection
in ``cardwatch serve`` (:mod:`cardwatch.server.daily`), the API's and the CLI's ``breach
respond`` (:func:`cardwatch.respond.respond`) and the CLI's ``breach detect``/``exposure`` when
the workspace has a store — so a response inside a running service sees the newest payments and
fraud reports, not only what was imported.

History and store hold the same card ids: import and the service both turn a PAN into
``card_key(pan, workspace.pan_key())`` (an opaque card id stays as it is), so a card's imported
payments and its live ones are one card.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.store.base import Store
from cardwatch.store.history import History, transactions_table
from cardwatch.workspace import Workspace

__all__ = ["OVERLAP", "LiveHistory"]

#: How far before the end of the imported history the store's decisions are read: a batch of
#: live payments imported into history overlaps the store's; duplicates go by ``txn_id``.
OVERLAP = timedelta(days=1)

#: "Every label the store has" (an as-of later than any report).
_EVER = datetime(9999, 1, 1, tzinfo=UTC)

_LABELS = pa.schema(
    [
        ("txn_id", pa.string()),
        ("is_fraud", pa.int8()),
        ("reported_at", pa.timestamp("us", tz="UTC")),
    ]
)


class LiveHistory:
    """What the service knows as of ``as_of``, as one ``transactions`` relation for detection,
    exposure and triage: the imported history (labels imported with it applied), the store's
    decided payments since it ends (not reversed; a payment already imported is taken once, by
    ``txn_id``), and the store's labels reported by ``as_of`` over both — the latest label of a
    payment decides whether it is fraud, and a fraud counts from its earliest report.
    ``as_of=None``: every label the store has (narrow it with :meth:`known_at` once the moment
    of the analysis is known, e.g. the end of this history).

    A snapshot: the store is read once, when made; :meth:`connect` gives a new DuckDB
    connection over it each time (``History.connect``'s views, ``transactions`` replaced).
    """

    def __init__(self, workspace: Workspace, store: Store, as_of: datetime | None = None) -> None:
        self.history = History(workspace)
        self.as_of = as_of
        end = self._end() if not self.history.is_empty() else None
        live = store.decided_transactions(after=end - OVERLAP if end is not None else None)
        self.live = transactions_table(live)
        labels = store.labels_known_at(as_of or _EVER)
        self.labels = pa.table(
            {
                "txn_id": [x.txn_id for x in labels],
                "is_fraud": [int(x.is_fraud) for x in labels],
                "reported_at": [x.reported_at for x in labels],
            },
            schema=_LABELS,
        )

    def known_at(self, as_of: datetime) -> LiveHistory:
        """The same snapshot with only the store's labels reported by ``as_of`` (the store is
        not read again)."""
        out = object.__new__(LiveHistory)
        out.history, out.live, out.as_of = self.history, self.live, as_of
        reported = self.labels.column("reported_at")
        out.labels = self.labels.filter(pc.less_equal(reported, pa.scalar(as_of, reported.type)))
        return out

    def _end(self) -> datetime | None:
        with self.history.connect() as con:
            t = con.sql("SELECT max(timestamp) AS t FROM raw_transactions").to_arrow_table()
        return t.column("t")[0].as_py()

    def is_empty(self) -> bool:
        return self.history.is_empty() and self.live.num_rows == 0

    def table(self, end: datetime | None = None) -> pa.Table:
        """Payments before ``end`` (all when None), the store's labels applied, sorted by
        (timestamp, txn_id) in the history's schema: what ``History.table`` gives, with what
        the service has learnt since the import."""
        sql, params = "SELECT * FROM transactions", []
        if end is not None:
            sql, params = sql + " WHERE timestamp < ?", [end]
        with self.connect() as con:
            out = con.sql(sql + " ORDER BY timestamp, txn_id", params=params).to_arrow_table()
        return out.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA)

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = self.history.connect()
        con.register("cw_live", self.live)
        con.register("cw_store_labels", self.labels)
        con.execute("ALTER VIEW transactions RENAME TO imported_transactions")
        con.execute(
            """CREATE VIEW cw_payments AS
            SELECT * FROM imported_transactions
            UNION ALL BY NAME
            SELECT * FROM cw_live
            WHERE txn_id NOT IN (SELECT txn_id FROM raw_transactions)"""
        )
        con.execute(
            """CREATE VIEW cw_latest_labels AS
            SELECT txn_id, arg_max(is_fraud, reported_at) AS is_fraud,
                   min(reported_at) FILTER (WHERE is_fraud = 1) AS first_fraud_at
            FROM cw_store_labels GROUP BY txn_id"""
        )
        con.execute(
            """CREATE VIEW transactions AS
            SELECT p.* REPLACE (
                coalesce(l.is_fraud, p.is_fraud)::TINYINT AS is_fraud,
                CASE WHEN l.txn_id IS NULL THEN p.fraud_reported_at
                     WHEN l.is_fraud = 1 THEN least(
                         CASE WHEN p.is_fraud = 1 THEN p.fraud_reported_at END,
                         l.first_fraud_at)
                END AS fraud_reported_at)
            FROM cw_payments p LEFT JOIN cw_latest_labels l USING (txn_id)"""
        )
        return con
