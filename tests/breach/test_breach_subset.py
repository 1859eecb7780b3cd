"""The subset scan over a chain's stores: it finds the breached few among many, its p-value is
calibrated on chains where nothing happened, and through ``detect`` it names a planted breach of
a few of a chain's stores and stays quiet without one."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from cardwatch.breach import DetectConfig, detect
from cardwatch.breach.detect import detect_with
from cardwatch.breach.engine import duckdb_engine
from cardwatch.breach.evidence import gather
from cardwatch.breach.places import score_subsets, subset_windows
from cardwatch.breach.subset import scan_scores, subset_scan

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)
SUBSET = DetectConfig(subset_scan=True)
WITHOUT = DetectConfig(subset_scan=False)


def test_scan_scores_match_brute_force_over_every_subset() -> None:
    """The linear-time property: the best of the n top-priority subsets is the best of all 2^n."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        b = rng.uniform(0.1, 2.0, 8)
        k = rng.poisson(b * rng.choice([1.0, 3.0], 8)).astype(float)
        best = 0.0
        for mask in range(1, 2**8):
            pick = np.array([(mask >> i) & 1 for i in range(8)], bool)
            c, e = k[pick].sum(), b[pick].sum()
            if c > e:
                best = max(best, c * math.log(c / e) + e - c)
        assert abs(float(scan_scores(k, b)[0]) - best) < 1e-9


def test_subset_scan_finds_the_breached_stores_of_a_chain() -> None:
    """12 of 48 stores leak; each has one or two victims, as in the missed evaluation worlds."""
    rng = np.random.default_rng(5)
    n = rng.integers(100, 400, 48)
    p = 0.002
    k = rng.binomial(n, p).astype(float)
    breached = rng.choice(48, 12, replace=False)
    k[breached] += rng.integers(1, 3, 12)
    scan = subset_scan(k, n, p)
    assert scan is not None and scan.log_p < math.log(1e-4)
    found = set(scan.stores.tolist())
    hit = len(found & set(breached.tolist()))
    assert hit >= 10 and hit / len(found) >= 0.5  # stores with chance victims join it too


def test_subset_scan_is_calibrated_on_null_chains() -> None:
    """Chains where every store's count is chance: the p-value is below 5 % about 5 % of the
    time (it is an unbiased Monte-Carlo estimate, floored at one draw), and below 1 % rarely."""
    rng = np.random.default_rng(11)
    p_values = []
    for _ in range(300):
        stores = int(rng.integers(16, 60))
        n = rng.integers(30, 500, stores)
        p = float(rng.uniform(0.0005, 0.005))
        scan = subset_scan(rng.binomial(n, p).astype(float), n, p)
        p_values.append(1.0 if scan is None else math.exp(scan.log_p))
    p_values = np.array(p_values)
    assert np.mean(p_values <= 0.05) <= 0.08
    assert np.mean(p_values <= 0.01) <= 0.025


def test_detect_finds_a_breach_of_a_few_of_a_chains_stores(world_factory: Callable) -> None:
    """4 of a chain's 24 stores leak (18 victims, 1,500 cards): no store and not the chain as a
    whole alerts, the subset scan does, and names the breached stores."""
    world = world_factory(cards=1500, chain_stores=24, breach_stores=(0, 5, 11, 17),
                          share_defrauded=0.15, background_frauds=40, seed=4)  # fmt: skip
    assert detect(world.table, AS_OF, WITHOUT) == []
    ev = gather(duckdb_engine(world.table), AS_OF, SUBSET)
    assert ev is not None and subset_windows(ev, SUBSET)
    scored = {p.key: p for p in score_subsets(ev, SUBSET)}
    chain = scored["BIGMART"]
    assert chain.log_p <= math.log(SUBSET.alpha)
    assert {s for s, _ in chain.stores} <= set(world.breach_stores)
    found = detect(world.table, AS_OF)  # the scan is on by default
    assert found and found[0].merchant_id == "BIGMART" and found[0].level == "chain"


def test_subset_scan_stays_quiet_on_a_chain_without_a_breach(world_factory: Callable) -> None:
    quiet = world_factory(cards=1500, chain_stores=24, breach_stores=(), background_frauds=40,
                          seed=4)  # fmt: skip
    assert detect(quiet.table, AS_OF, SUBSET) == []
    ev = gather(duckdb_engine(quiet.table), AS_OF, SUBSET)
    assert ev is not None
    assert all(p.log_p > math.log(SUBSET.alpha) for p in score_subsets(ev, SUBSET))


def test_subset_scan_off_changes_nothing(breached_world) -> None:
    """Without the scan the detector is the one of before; with it (the default), a whole-chain
    breach is reported as before (the scan only looks inside chains the other tests leave
    quiet)."""
    engine = duckdb_engine(breached_world.table)
    off = detect_with(engine, AS_OF, WITHOUT)
    on = detect_with(engine, AS_OF, SUBSET)
    assert [s.key for s in off] == [s.key for s in on]
    assert off[0].window_start == on[0].window_start and off[0].score == on[0].score


def test_subset_alert_needs_subset_min_cards(world_factory: Callable) -> None:
    """The planted partial breach has 18 victims: asking for more keeps the scan quiet."""
    world = world_factory(cards=1500, chain_stores=24, breach_stores=(0, 5, 11, 17),
                          share_defrauded=0.15, background_frauds=40, seed=4)  # fmt: skip
    strict = DetectConfig(subset_scan=True, subset_min_cards=50)
    assert detect(world.table, AS_OF, strict) == []
