"""The daily detection sees what the service knows, not only what was imported: payments
decided live (the store's decisions) after the imported history ends, and fraud reports that
arrived through the store's labels (``/v1/labels``, analysts, cardholders) from their reported
time. Card ids are tokens in both, under the workspace's key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.breach.live import go_live
from tests.server.stores import opened
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.live_history import LiveHistory
from cardwatch.pan import is_pan
from cardwatch.server.daily import DailyDetection
from cardwatch.server.local import SimulatedClock
from cardwatch.store.history import History
from cardwatch.store.sql import open_store

#: History imported up to here (before the breach began on 27 Nov); everything later arrived
#: through the service.
SPLIT = datetime(2013, 11, 25, tzinfo=UTC)
AT = datetime(2013, 12, 20, 3, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, workspace, breached_world, tmp_path):
    """Imported history up to SPLIT without any label; later payments in the store as decided
    live; every fraud report only as a store label."""
    with opened(request.param, tmp_path) as store:
        world = go_live(workspace, store, breached_world.table, SPLIT)
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


def test_the_cli_reads_the_workspace_store_too(workspace, breached_world) -> None:
    """``breach detect`` and ``breach respond`` over the workspace's own store (its SQLite file):
    the live payments and the store's labels count; without a store, only the import."""
    runner = CliRunner()
    home = ["--home", str(workspace.home), "--as-of", AT.isoformat()]
    store = open_store(workspace)
    try:
        go_live(workspace, store, breached_world.table, SPLIT)
    finally:
        store.close()
    found = runner.invoke(app, ["breach", "detect", *home, "--out", str(workspace.home / "d.json")])
    assert found.exit_code == 0, found.output
    suspects = json.loads((workspace.home / "d.json").read_text())
    assert "BIGMART" in [s["chain"] for s in suspects]
    done = runner.invoke(app, ["breach", "respond", "chain:BIGMART", *home, "--no-notify"])
    assert done.exit_code == 0, done.output
    store = open_store(workspace)
    try:
        (breach,) = store.breaches()
        assert store.exposures(breach.breach_id)
    finally:
        store.close()
    (workspace.home / "cardwatch.db").rename(workspace.home / "elsewhere.db")
    alone = runner.invoke(app, ["breach", "detect", *home, "--out", str(workspace.home / "i.json")])
    assert alone.exit_code == 0, alone.output
    assert json.loads((workspace.home / "i.json").read_text()) == []  # the import knows no fraud
