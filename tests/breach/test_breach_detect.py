"""Detection on small worlds: the breached chain is found, popular places and background fraud
are not, and nothing after ``as_of`` is used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow.compute as pc

from cardwatch.breach import DetectConfig, detect, detect_daily

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)


def test_breached_chain_ranks_first(breached_world) -> None:
    found = detect(breached_world.table, AS_OF)
    assert found, "the breach was not found"
    top = found[0]
    assert top.level == "chain" and top.chain == "BIGMART"
    assert set(breached_world.breach_stores) <= set(top.merchant_ids)
    assert top.window_start <= breached_world.breach_end
    assert top.window_end >= breached_world.breach_start
    assert top.fraud_cards >= 10 and top.exposed_cards > top.fraud_cards
    assert top.p_value < 0.01 and top.score > 2
    assert all(t.startswith("BM") for t in top.terminal_ids)
    assert {s.merchant_id for s in found} <= {"BIGMART"}


def test_popular_places_do_not_alert(breached_world) -> None:
    found = detect(breached_world.table, AS_OF)
    assert not {"SUPER", "TRANSIT"} & {m for s in found for m in s.merchant_ids}


def test_background_fraud_alone_gives_no_alert(world_factory: Callable) -> None:
    quiet = world_factory(breach_stores=(), background_frauds=60, seed=11)
    assert detect(quiet.table, AS_OF) == []


def test_single_store_breach_is_reported_as_the_store(world_factory: Callable) -> None:
    one = world_factory(breach_stores=(2,), share_defrauded=0.6, chain_stores=3, seed=5)
    found = detect(one.table, AS_OF)
    assert found and found[0].merchant_id == "BM2" and found[0].level == "store"
    assert found[0].chain == "BIGMART"


def test_labels_reported_after_as_of_are_ignored(breached_world) -> None:
    as_of = datetime(2013, 12, 20, tzinfo=UTC)
    t = breached_world.table
    late = pc.greater(t.column("fraud_reported_at"), as_of)
    relabelled = t.set_column(
        t.schema.get_field_index("is_fraud"),
        "is_fraud",
        pc.if_else(pc.fill_null(late, False), 0, t.column("is_fraud")).cast("int8"),
    )
    assert detect(t, as_of) == detect(relabelled, as_of)
    before_any = breached_world.first_report - timedelta(hours=1)
    assert all(s.chain != "BIGMART" for s in detect(t, before_any))


def test_transactions_after_as_of_are_not_read(breached_world) -> None:
    as_of = datetime(2013, 12, 20, tzinfo=UTC)
    t = breached_world.table
    past = t.filter(pc.less_equal(t.column("timestamp"), as_of))
    assert detect(t, as_of) == detect(past, as_of)


def test_relation_and_connection_give_the_same_answer(breached_world) -> None:
    expected = [s.to_dict() for s in detect(breached_world.table, AS_OF)]
    con = duckdb.connect()
    con.register("raw", breached_world.table)
    con.execute("CREATE VIEW transactions AS SELECT * FROM raw")
    assert [s.to_dict() for s in detect(con, AS_OF)] == expected
    rel = con.table("raw")
    assert [s.to_dict() for s in detect(rel, AS_OF)] == expected


def test_stricter_threshold_only_removes_alerts(breached_world) -> None:
    loose = detect(breached_world.table, AS_OF, DetectConfig(alpha=0.05))
    strict = detect(breached_world.table, AS_OF, DetectConfig(alpha=1e-12))
    assert {s.key for s in strict} <= {s.key for s in loose}


def test_daily_detection_alerts_soon_after_the_first_reports(breached_world) -> None:
    start = breached_world.first_report.replace(hour=0, minute=0, second=0, microsecond=0)
    alerts = list(detect_daily(breached_world.table, start, start + timedelta(days=14)))
    assert alerts, "never alerted"
    day, suspect = alerts[0]
    assert suspect.chain == "BIGMART"
    assert day - breached_world.first_report < timedelta(days=14)
    assert len({s.key for _, s in alerts}) == len(alerts)


def test_a_leak_still_going_on_reports_a_window_open_to_as_of(breached_world) -> None:
    as_of = datetime(2013, 12, 20, tzinfo=UTC)
    closed = DetectConfig(open_windows=False)
    assert not any(s.ongoing for s in detect(breached_world.table, as_of, closed))
    found = [s for s in detect(breached_world.table, as_of) if s.chain == "BIGMART"]
    assert found and found[0].ongoing
    assert found[0].window_end == as_of and found[0].to_dict()["ongoing"] is True
    assert found[0].window_start <= breached_world.breach_start + timedelta(days=5)


def test_concentration_test_is_calibrated_on_uniform_visits() -> None:
    """Visits spread like the place's traffic (the null) seldom look concentrated: the share of
    worlds with p below 5 % stays below 5 % (the test's bounds are conservative). The first
    version (every window, Naus's factor) failed this: 21 of 200."""
    import math

    import numpy as np

    from cardwatch.breach.concentration import concentrate
    from cardwatch.breach.stats import DAY_US

    rng = np.random.default_rng(3)
    traffic = rng.uniform(20, 80, 90)
    share = traffic / traffic.sum()
    hits = 0
    runs = 200
    for _ in range(runs):
        m = rng.integers(1, 5, 12)
        card = np.repeat(np.arange(12), m)
        day = rng.choice(90, size=len(card), p=share)
        ts = (day + rng.random(len(card))) * DAY_US
        first = np.full(len(card), 90 * DAY_US + 1)
        c = concentrate(card, ts.astype(np.int64), first, traffic, 0, 90.0, 1.0, 3)
        hits += c is not None and c.log_p <= math.log(0.05)
    assert hits / runs <= 0.05


def test_concentration_finds_a_burst_among_regulars() -> None:
    """Power: 12 regulars visit all along; 8 of them also paid in one 5-day burst."""
    import math

    import numpy as np

    from cardwatch.breach.concentration import concentrate
    from cardwatch.breach.stats import DAY_US

    rng = np.random.default_rng(5)
    traffic = np.full(90, 50.0)
    card = np.r_[np.repeat(np.arange(12), 3), np.arange(8)]
    day = np.r_[rng.uniform(0, 90, 36), rng.uniform(60, 65, 8)]
    first = np.full(len(card), 90 * DAY_US + 1)
    c = concentrate(card, (day * DAY_US).astype(np.int64), first, traffic, 0, 90.0, 1.0, 3)
    assert c is not None and c.log_p < math.log(0.01)
    assert 55 * DAY_US <= c.start_us <= 62 * DAY_US and c.end_us >= 63 * DAY_US


def _chain_and_loo(world, config: DetectConfig):
    import math

    import numpy as np

    from cardwatch.breach.engine import duckdb_engine
    from cardwatch.breach.evidence import gather
    from cardwatch.breach.places import leave_one_out, score_places

    ev = gather(duckdb_engine(world.table), AS_OF, config)
    active = np.ones(len(ev.fraud_ids), bool)
    chain = next(p for p in score_places(ev, config, active, 1, {}) if p.level == "chain")
    return chain, leave_one_out(ev, config, chain, active, 1), math.log(config.alpha)


def test_leave_one_out_keeps_a_breach_spread_over_a_name_groups_stores(breached_world) -> None:
    chain, loo, alpha = _chain_and_loo(breached_world, DetectConfig())
    assert chain.log_p <= alpha and chain.log_p < loo <= alpha  # weaker, still an alert
    on = detect(breached_world.table, AS_OF, DetectConfig(name_group_leave_one_out=True))
    assert on and on[0].key == "chain:BIGMART"


def test_leave_one_out_drops_a_name_group_resting_on_one_store(world_factory: Callable) -> None:
    one = world_factory(breach_stores=(2,), share_defrauded=0.6, chain_stores=3, seed=5)
    chain, loo, alpha = _chain_and_loo(one, DetectConfig())
    assert chain.log_p <= alpha < loo  # the name alone alerts, not without its breached store
    on = detect(one.table, AS_OF, DetectConfig(name_group_leave_one_out=True))
    assert [s.key for s in on] == ["store:BM2"]


def test_leave_one_out_spares_real_chains(world_factory: Callable) -> None:
    one = world_factory(breach_stores=(2,), share_defrauded=0.6, chain_stores=3, seed=5)
    config = DetectConfig(name_group_leave_one_out=True, subset_min_stores=3)
    import numpy as np

    from cardwatch.breach.detect import _spread
    from cardwatch.breach.engine import duckdb_engine
    from cardwatch.breach.evidence import gather
    from cardwatch.breach.places import score_places

    ev = gather(duckdb_engine(one.table), AS_OF, config)
    active = np.ones(len(ev.fraud_ids), bool)
    chain = next(p for p in score_places(ev, config, active, 1, {}) if p.level == "chain")
    assert _spread(ev, config, chain, [active])  # 3 stores is a real chain here: not tested
    assert not _spread(ev, replace(config, subset_min_stores=4), chain, [active])
