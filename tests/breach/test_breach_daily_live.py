"""The daily detection sees what the service knows, not only what was imported: payments
decided live (the store's decisions) after the imported history ends, and fraud reports that
arrived through the store's labels (``/v1/labels``, analysts, cardholders) from their reported
time. Card ids are tokens in both, under the workspace's key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.server.stores import opened

from cardwatch.cli.demo import synthetic_pan
from cardwatch.engine import decision_id
from cardwatch.pan import card_key, is_pan
from cardwatch.schema import HISTORY_SCHEMA, Action, Decision, Transaction
from cardwatch.server.daily import DailyDetection, LiveHistory
from cardwatch.server.local import SimulatedClock
from cardwatch.store.history import History
from cardwatch.store.records import Label

#: History imported up to here (before the breach began on 27 Nov); everything later arrived
#: through the service.
SPLIT = datetime(2013, 11, 25, tzinfo=UTC)
AT = datetime(2013, 12, 20, 3, tzinfo=UTC)
_FIELDS = [n for n in HISTORY_SCHEMA.names if n not in ("is_fraud", "fraud_reported_at")]


def _tokenised(table: pa.Table, key: bytes) -> pa.Table:
    """The world as it reaches cardwatch: PANs, tokenised at the edge (import or service)."""
    ids = table.column("card_id").to_pylist()
    mapping = {c: card_key(synthetic_pan(c), key) for c in set(ids)}
    i = table.column_names.index("card_id")
    return table.set_column(i, "card_id", pa.array([mapping[c] for c in ids], pa.string()))


def _record(store, txns: list[Transaction]) -> None:
    def decided(t: Transaction) -> Decision:
        return Decision(t.txn_id, Action.APPROVE, "00", 0.01, decision_id=decision_id(t.txn_id))

    batch = getattr(store, "record_decisions", None)
    if batch is None:
        for t in txns:
            store.record_decision(decided(t), t, now=t.timestamp)
        return
    for i in range(0, len(txns), 2000):
        batch([{"decision": decided(t), "txn": t, "now": t.timestamp} for t in txns[i : i + 2000]])


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, workspace, breached_world, tmp_path):
    """Imported history up to SPLIT without any label; later payments in the store as decided
    live; every fraud report only as a store label."""
    world = _tokenised(breached_world.table, workspace.pan_key())
    ts = world.column("timestamp")
    early = pc.less(ts, pa.scalar(SPLIT, ts.type))
    imported = world.filter(early)
    nulls = {
        "is_fraud": pa.nulls(imported.num_rows, pa.int8()),
        "fraud_reported_at": pa.nulls(imported.num_rows, HISTORY_SCHEMA.field("timestamp").type),
    }
    for name, column in nulls.items():
        imported = imported.set_column(imported.column_names.index(name), name, column)
    History(workspace).append(imported)
    later = world.filter(pc.invert(early)).to_pylist()
    with opened(request.param, tmp_path) as store:
        _record(store, [Transaction(**{k: r[k] for k in _FIELDS}) for r in later])
        for r in world.filter(pc.equal(world.column("is_fraud"), 1)).to_pylist():
            store.add_label(
                Label(r["txn_id"], r["card_id"], True, r["fraud_reported_at"], "chargeback")
            )
        yield store, world


def test_live_payments_and_store_labels_are_one_relation(workspace, live) -> None:
    store, world = live
    with History(workspace).connect() as con:
        imported = con.sql(
            "SELECT count(*) FILTER (WHERE is_fraud = 1) AS f, count(*) AS n FROM transactions"
        ).fetchall()[0]
    assert imported[0] == 0 < imported[1] < world.num_rows  # the import knows of no fraud

    with LiveHistory(workspace, store, AT).connect() as con:
        n, frauds, late, cards = con.sql(
            f"""SELECT count(*), count(*) FILTER (WHERE is_fraud = 1),
                      count(*) FILTER (WHERE fraud_reported_at > TIMESTAMPTZ '{AT.isoformat()}'),
                      count(DISTINCT card_id)
               FROM transactions"""
        ).fetchall()[0]
        both = con.sql(
            f"""SELECT count(*) FROM (
                SELECT card_id FROM transactions GROUP BY card_id
                HAVING min(timestamp) < TIMESTAMPTZ '{SPLIT.isoformat()}'
                   AND max(timestamp) >= TIMESTAMPTZ '{SPLIT.isoformat()}')"""
        ).fetchall()[0][0]
        ids = con.sql("SELECT DISTINCT card_id FROM transactions").fetchnumpy()["card_id"]
    assert n == world.num_rows  # every payment once: imported, or decided live
    assert cards == len(set(world.column("card_id").to_pylist()))
    assert both > 0.9 * cards  # one token space: a card's imported and live payments are one card
    assert not any(is_pan(str(c)) for c in ids)  # tokens only, never a PAN
    known = pc.sum(
        pc.and_(
            pc.equal(world.column("is_fraud"), 1),
            pc.less_equal(
                world.column("fraud_reported_at"),
                pa.scalar(AT, world.column("fraud_reported_at").type),
            ),
        )
    ).as_py()
    assert frauds == known and late == 0  # labels only from their reported time


def test_reports_through_the_store_alone_alert_the_breach(workspace, live) -> None:
    store, _ = live
    clock = SimulatedClock(AT)
    report = DailyDetection(workspace, store, clock=clock, hour=2).tick()
    assert report is not None and report.skipped is None and len(report.created) == 1
    breach = store.get_breach(report.created[0])
    assert breach is not None and breach.evidence["key"] == "chain:BIGMART"
    exposed = store.exposures(breach.breach_id)
    assert exposed  # from the live payments at the chain's tills
    assert not store.outbox_messages(limit=10)  # never notifies by itself
    # A day later with no new report the run is skipped; later reports widen the breach.
    clock.start += timedelta(days=1)
    quiet = DailyDetection(workspace, store, clock=clock, hour=2).tick()
    assert quiet is not None
    clock.start += timedelta(days=10)
    later = DailyDetection(workspace, store, clock=clock, hour=2).tick()
    assert later is not None and later.skipped is None and not later.created
    assert len(store.breaches()) == 1
