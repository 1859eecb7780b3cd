"""Presence sketches: the distinct counts detection takes from them agree with the payments,
whatever the sketches do not cover (the partial days at the look-back's ends, a part without
sketches, the service's live payments) is read from the payments, and detection finds the same
breach either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from tests.breach.live import go_live
from tests.server.stores import opened

from cardwatch.breach import detect, queries
from cardwatch.breach.engine import duckdb_engine
from cardwatch.live_history import LiveHistory
from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.store.history import History

AS_OF = datetime(2013, 12, 31, 15, 30, tzinfo=UTC)
START = AS_OF - timedelta(days=120)


def _payments(visits: list[tuple[str, str, datetime]]) -> pa.Table:
    """(card, store, time) as history rows; a store's name is its first three letters."""
    n = len(visits)
    cols: dict[str, list] = {name: [None] * n for name in HISTORY_SCHEMA.names}
    cols["txn_id"] = [f"t{i}" for i in range(n)]
    cols["card_id"] = [v[0] for v in visits]
    cols["merchant_id"] = [v[1] for v in visits]
    cols["merchant_name"] = [v[1][:3] for v in visits]
    cols["timestamp"] = [v[2] for v in visits]
    cols["amount"] = [10.0] * n
    cols["is_fraud"] = [0] * n
    return pa.table(cols, schema=HISTORY_SCHEMA)


def _counts(con, places: list[str], names: list[str]) -> tuple[dict, dict, int]:
    e = duckdb_engine(con)
    e.register("cw_places", pa.table({"merchant_id": places}))
    e.register("cw_names", pa.table({"merchant_name": names}))
    stores = {r["merchant_id"]: r["cards"]
              for r in e.query(queries.store_cards_sql(e, START, AS_OF)).to_pylist()}  # fmt: skip
    chains = {r["merchant_name"]: (r["stores"], r["cards"])
              for r in e.query(queries.chain_cards_sql(e, START, AS_OF)).to_pylist()}  # fmt: skip
    pop = e.query(queries.population_sql(e, START, AS_OF)).to_pylist()[0]
    return stores, chains, pop["cards"]


def test_counts_from_sketches_agree_with_the_payments(workspace) -> None:
    rng = np.random.default_rng(0)
    sizes = {"BIG0": 20_000, "MID0": 2_000, "MID1": 300, "LIT0": 12}
    visits = []
    for store, n in sizes.items():
        for c in rng.choice(30_000, n, replace=False):
            visits.append((f"c{c}", store, START + timedelta(days=float(rng.uniform(0.5, 119)))))
    history = History(workspace)
    history.append(_payments(visits))
    with history.connect() as con:
        assert duckdb_engine(con).sketched
        stores, chains, cards = _counts(con, list(sizes), ["MID"])
    exact = len({v[0] for v in visits})
    assert abs(cards - exact) <= 0.02 * exact
    for store, n in sizes.items():
        assert abs(stores[store] - n) <= max(1, 0.08 * n), store  # 3 standard errors
    both = len({v[0] for v in visits if v[1].startswith("MID")})
    assert chains["MID"][0] == 2 and abs(chains["MID"][1] - both) <= 0.08 * both


def test_what_no_sketch_covers_is_read_from_the_payments(workspace) -> None:
    day = timedelta(days=1)
    history = History(workspace)
    history.append(_payments([
        ("early", "S1", START + timedelta(hours=1)),  # the partial first day
        ("late", "S1", AS_OF - timedelta(hours=1)),  # the partial last day
        ("before", "S1", START - timedelta(hours=1)),  # outside the look-back
        ("after", "S1", AS_OF + timedelta(hours=1)),
        ("middle", "S1", START + 50 * day),
    ]))  # fmt: skip
    unsketched = history.append(_payments([("old", "S1", START + 60 * day)]))
    for path in history._sketch_paths(unsketched):
        path.unlink()  # as a part written before sketches existed
    with history.connect() as con:
        stores, chains, cards = _counts(con, ["S1"], ["S1"])
    assert stores == {"S1": 4} and cards == 4  # early, late, middle, old
    assert chains == {"S1": (1, 4)}
    assert history.sketch_missing() == 1 and history.sketch_missing() == 0
    with history.connect() as con:
        assert _counts(con, ["S1"], [])[0] == {"S1": 4}


def test_detection_finds_the_same_breach_from_sketches(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    with History(workspace).connect() as con:
        assert duckdb_engine(con).sketched
        sketched = detect(con, AS_OF)
    plain = detect(breached_world.table, AS_OF)
    assert [s.key for s in sketched] == [s.key for s in plain] == ["chain:BIGMART"]
    a, b = sketched[0], plain[0]
    assert (a.fraud_cards, a.exposed_cards) == (b.fraud_cards, b.exposed_cards)  # exact counts
    assert a.window_start == b.window_start and a.score == pytest.approx(b.score, rel=0.1)


def test_live_payments_are_counted(workspace, breached_world, tmp_path) -> None:
    split = datetime(2013, 11, 25, tzinfo=UTC)
    with opened("memory", tmp_path) as store:
        world = go_live(workspace, store, breached_world.table, split)
        with LiveHistory(workspace, store, AS_OF).connect() as con:
            assert duckdb_engine(con).sketched
            cards = _counts(con, [], [])[2]
    live = world.filter(
        pa.compute.greater_equal(world["timestamp"], pa.scalar(split, world["timestamp"].type))
    )
    assert cards == pytest.approx(len(set(world["card_id"].to_pylist())), rel=0.02)
    assert live.num_rows > 0
