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
from cardwatch.breach.places import score_subsets, score_subsets_joint, subset_bins, subset_windows
from cardwatch.breach.subset import JointNull, joint_p, scan_scores, subset_scan

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


# The joint null over windows and strata (config.subset_joint).

JOINT = DetectConfig(subset_scan=True, subset_joint=True)


def _null(windows: int, stores: int = 30, seed: int = 2) -> JointNull:
    """A chain of ``stores`` stores, each with a few groups of customers, over ``windows``
    copies of one window, one stratum, every defrauded card counted."""
    rng = np.random.default_rng(seed)
    store = np.repeat(np.arange(stores), 3)
    cards = rng.integers(50, 300, len(store))
    visits = np.ones((len(store), windows), bool)
    return JointNull(store, cards, visits, np.ones((1, windows), bool), np.arange(windows), 0.003)


def test_joint_p_pays_nothing_for_a_repeated_window() -> None:
    """Two tests of the same window and stratum are one test: the joint p-value is the single
    test's (Bonferroni would double it)."""
    one, two = _null(1), _null(2)
    b1 = one.customers(30) * one.rates()[:, None]
    b2 = two.customers(30) * two.rates()[:, None]
    k = np.zeros(30)
    k[:5] = np.ceil(b1[0, :5] * 3)  # three times what the first five stores expect
    score = float(scan_scores(k, b1[0])[0])
    assert joint_p(score, b1, one) == joint_p(score, b2, two)
    assert joint_p(score, b1, one)[0] < math.log(0.01)


def test_joint_p_is_calibrated_on_its_null() -> None:
    """Counts drawn card by card (every customer defrauded with the chance ``rho``, then counted
    in the windows it paid in, of two overlapping ones): the p-value of the maximum over both
    windows is below 5 % about 5 % of the time."""
    rng = np.random.default_rng(17)
    p_values = []
    for _ in range(200):
        stores = int(rng.integers(16, 40))
        store = np.repeat(np.arange(stores), 3)  # groups: first window only, both, second only
        cards = rng.integers(20, 200, len(store))
        visits = np.tile(np.array([[True, False], [True, True], [False, True]]), (stores, 1))
        rho = float(rng.uniform(0.001, 0.01))
        null = JointNull(store, cards, visits, np.ones((1, 2), bool), np.arange(2), rho)
        hit = rng.binomial(cards, rho)
        k = np.zeros((2, stores))
        for w in range(2):
            np.add.at(k[w], store[visits[:, w]], hit[visits[:, w]])
        b = null.customers(stores) * null.rates()[:, None]
        score = float(scan_scores(k, b)[0].max())
        p_values.append(math.exp(joint_p(score, b, null)[0]))
    p_values = np.array(p_values)
    assert np.mean(p_values <= 0.05) <= 0.09
    assert np.mean(p_values <= 0.01) <= 0.03


def test_store_masks_count_each_windows_customers(world_factory: Callable) -> None:
    """The customers per store and bins, summed over the bins of a window, are the exact
    customers per store of that window (no payment falls on a window's bound here)."""
    world = world_factory(cards=1500, chain_stores=24, breach_stores=(0, 5, 11, 17),
                          share_defrauded=0.15, background_frauds=40, seed=4)  # fmt: skip
    ev = gather(duckdb_engine(world.table, exact=True), AS_OF, JOINT)
    assert ev is not None
    windows = subset_windows(ev, JOINT)
    origin, width, bins = subset_bins(windows)
    assert bins == 8 and len(windows) == 10
    t = ev.store_masks(["BIGMART"], origin, width, bins)["BIGMART"]
    stores = np.array(t.column("merchant_id").to_pylist())
    masks = np.array(t.column("mask").to_pylist())
    cards = np.array(t.column("cards").to_pylist())
    for (ws, we), exact in zip(windows, ev.store_exposed([("BIGMART", *w) for w in windows]),
                               strict=True):  # fmt: skip
        bits = sum(1 << b for b in range((ws - origin) // width, (we - origin) // width))
        meets = (masks & bits) != 0
        got = {s: int(cards[meets & (stores == s)].sum()) for s in set(stores[meets])}
        assert got == exact


def test_joint_detect_finds_a_breach_of_a_few_of_a_chains_stores(world_factory: Callable) -> None:
    world = world_factory(cards=1500, chain_stores=24, breach_stores=(0, 5, 11, 17),
                          share_defrauded=0.15, background_frauds=40, seed=4)  # fmt: skip
    found = detect(world.table, AS_OF, JOINT)
    assert found and found[0].merchant_id == "BIGMART" and found[0].level == "chain"
    assert set(found[0].merchant_ids) <= set(world.breach_stores)
    quiet = world_factory(cards=1500, chain_stores=24, breach_stores=(), background_frauds=40,
                          seed=4)  # fmt: skip
    assert detect(quiet.table, AS_OF, JOINT) == []
    ev = gather(duckdb_engine(quiet.table), AS_OF, JOINT)
    assert ev is not None
    strata = [np.ones(len(ev.fraud_ids), bool)]
    assert all(p.log_p > math.log(JOINT.alpha) for p in score_subsets_joint(ev, JOINT, strata))
