"""A world as a running service knows it: history imported up to a split without any label,
later payments in the store as decided live, every fraud report only as a store label; card ids
are tokens under the workspace's key in both (never a PAN)."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.cli.demo import synthetic_pan
from cardwatch.engine import decision_id
from cardwatch.pan import card_key
from cardwatch.schema import HISTORY_SCHEMA, Action, Decision, Transaction
from cardwatch.store.base import Store
from cardwatch.store.history import History
from cardwatch.store.records import Label
from cardwatch.workspace import Workspace

__all__ = ["go_live", "tokenised"]

_FIELDS = [n for n in HISTORY_SCHEMA.names if n not in ("is_fraud", "fraud_reported_at")]


def tokenised(table: pa.Table, key: bytes) -> pa.Table:
    """The world as it reaches cardwatch: PANs, tokenised at the edge (import or service)."""
    ids = table.column("card_id").to_pylist()
    mapping = {c: card_key(synthetic_pan(c), key) for c in set(ids)}
    i = table.column_names.index("card_id")
    return table.set_column(i, "card_id", pa.array([mapping[c] for c in ids], pa.string()))


def _record(store: Store, txns: list[Transaction]) -> None:
    def decided(t: Transaction) -> Decision:
        return Decision(t.txn_id, Action.APPROVE, "00", 0.01, decision_id=decision_id(t.txn_id))

    batch = getattr(store, "record_decisions", None)
    if batch is None:
        for t in txns:
            store.record_decision(decided(t), t, now=t.timestamp)
        return
    for i in range(0, len(txns), 2000):
        batch([{"decision": decided(t), "txn": t, "now": t.timestamp} for t in txns[i : i + 2000]])


def go_live(workspace: Workspace, store: Store, table: pa.Table, split: datetime) -> pa.Table:
    """Import ``table``'s payments before ``split`` (labels stripped), record the later ones in
    ``store`` as decided live and every fraud as a store label at its reported time; the
    tokenised world."""
    world = tokenised(table, workspace.pan_key())
    ts = world.column("timestamp")
    early = pc.less(ts, pa.scalar(split, ts.type))
    imported = world.filter(early)
    nulls = {
        "is_fraud": pa.nulls(imported.num_rows, pa.int8()),
        "fraud_reported_at": pa.nulls(imported.num_rows, HISTORY_SCHEMA.field("timestamp").type),
    }
    for name, column in nulls.items():
        imported = imported.set_column(imported.column_names.index(name), name, column)
    History(workspace).append(imported)
    later = world.filter(pc.invert(early)).to_pylist()
    _record(store, [Transaction(**{k: r[k] for k in _FIELDS}) for r in later])
    for r in world.filter(pc.equal(world.column("is_fraud"), 1)).to_pylist():
        store.add_label(
            Label(r["txn_id"], r["card_id"], True, r["fraud_reported_at"], "chargeback")
        )
    return world
