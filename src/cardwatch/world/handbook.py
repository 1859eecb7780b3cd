"""Preset ``handbook``: the Fraud-Detection Handbook's simulated dataset, vectorised.

Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud Detection — Practical
Handbook* (2022), chapter 3.2. Same generative process and parameters: customers and terminals
uniform on a 100 × 100 grid; each customer uses the terminals within ``radius``; mean amount
U(5, 100) with std mean / 2 (a negative draw is redrawn U(0, 2 × mean)); transactions per day
Poisson(U(0, 4)); second of day N(43,200, 20,000), truncated to an integer, and dropped when it
falls outside the day; then three fraud scenarios applied in order — (1) any amount > 220;
(2) each day 2 terminals compromised for 28 days, all their transactions fraud; (3) each day 3
customers compromised for 14 days, a third of their transactions (chosen at random) multiplied by
5. The Handbook's own random calls (per-customer ``np.random.seed``) are not replayed, so the
rows differ but their distribution is the same; the book's run gave 1,754,155 transactions and
14,681 frauds.

``fraud_reported_at`` is the transaction's own timestamp: the Handbook's evaluation applies its
own delay (a 7-day gap between training and test periods), so the label is set at once here and
the delay is the evaluator's to apply.
"""

from __future__ import annotations

import calendar

import numpy as np
import pyarrow as pa
from scipy.spatial import cKDTree

from cardwatch.world.assemble import transactions_table
from cardwatch.world.config import HandbookConfig
from cardwatch.world.result import Step, World, iso

__all__ = ["HANDBOOK_SCENARIOS", "simulate_handbook"]

#: ``scenario`` values of the handbook preset, in the Handbook's order (TX_FRAUD_SCENARIO 1..3).
HANDBOOK_SCENARIOS = ("", "high_amount", "compromised_terminal", "compromised_customer")


def _within_radius(cust_xy: np.ndarray, term_xy: np.ndarray, r: float) -> tuple[np.ndarray, ...]:
    """Per customer, the terminals closer than ``r`` (CSR: start, count, members)."""
    lists = cKDTree(term_xy).query_ball_point(cust_xy, r=np.nextafter(r, 0))
    count = np.array([len(x) for x in lists], dtype=np.int64)
    members = np.concatenate([np.sort(x) for x in lists] + [np.zeros(0, int)]).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return start, count, members


def _ids(n: int) -> pa.Array:
    return pa.array([str(i) for i in range(n)])


def simulate_handbook(config: HandbookConfig | None = None, on_step: Step | None = None) -> World:
    """The Handbook's dataset (5,000 customers, 10,000 terminals, 183 days by default).

    >>> w = simulate_handbook(HandbookConfig(customers=50, terminals=100, days=10))
    >>> w.transactions.num_rows > 300, w.truth["preset"]
    (True, 'handbook')
    """
    cfg = config or HandbookConfig()
    step = on_step or (lambda _: None)
    rng = np.random.default_rng(cfg.seed)
    step("profiles")
    cust_xy = rng.uniform(0, 100, (cfg.customers, 2))
    mean_amount = rng.uniform(5, 100, cfg.customers)
    std_amount = mean_amount / 2
    mean_tx = rng.uniform(0, 4, cfg.customers)
    term_xy = rng.uniform(0, 100, (cfg.terminals, 2))
    t_start, t_count, t_members = _within_radius(cust_xy, term_xy, cfg.radius)

    step("transactions")
    counts = rng.poisson(np.repeat(mean_tx[:, None], cfg.days, axis=1))
    flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
    cust, day = flat // cfg.days, flat % cfg.days
    second = rng.normal(86_400 / 2, 20_000, len(cust)).astype(np.int64)  # truncates like int()
    keep = (second > 0) & (second < 86_400) & (t_count[cust] > 0)
    cust, day, second = cust[keep], day[keep], second[keep]
    n = len(cust)
    amount = rng.normal(mean_amount[cust], std_amount[cust])
    neg = amount < 0
    amount[neg] = rng.uniform(0, mean_amount[cust[neg]] * 2)
    amount = np.round(amount, 2)
    term = t_members[t_start[cust] + (rng.random(n) * t_count[cust]).astype(np.int64)]

    step("frauds")
    scenario = np.zeros(n, dtype=np.int8)
    scenario[amount > 220] = 1
    last_day = int(day.max()) if n else 0
    comp_terms = [rng.choice(cfg.terminals, cfg.compromised_terminals_per_day, replace=False)
                  for _ in range(last_day)]  # fmt: skip
    hit = np.zeros((cfg.terminals, cfg.days + 1), dtype=np.int8)
    for d, ts_ in enumerate(comp_terms):
        hit[ts_, d] += 1
        hit[ts_, min(d + cfg.terminal_compromise_days, cfg.days)] -= 1
    scenario[np.cumsum(hit, axis=1)[term, day] > 0] = 2
    by_cust = np.lexsort((day, cust))
    c_sorted, d_sorted = cust[by_cust], day[by_cust]
    comp_custs = []
    for d in range(last_day):
        chosen = rng.choice(cfg.customers, cfg.compromised_customers_per_day, replace=False)
        comp_custs.append(chosen)
        idx = []
        for c in chosen:
            lo = np.searchsorted(c_sorted, c, side="left")
            hi = np.searchsorted(c_sorted, c, side="right")
            a = lo + np.searchsorted(d_sorted[lo:hi], d, side="left")
            b = lo + np.searchsorted(d_sorted[lo:hi], d + cfg.customer_compromise_days, "left")
            idx.append(by_cust[a:b])
        pool = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        picked = rng.choice(pool, size=len(pool) // 3, replace=False)
        amount[picked] = np.round(amount[picked] * 5, 2)
        scenario[picked] = 3

    step("tables")
    epoch0 = calendar.timegm(cfg.start.timetuple())
    ts = epoch0 + day * 86_400 + second
    is_fraud = (scenario > 0).astype(np.int8)
    nulls = pa.nulls(cfg.terminals, pa.string())
    term_ids = _ids(cfg.terminals)
    cust_ids = _ids(cfg.customers)
    table = transactions_table(
        card=cust, ts=ts, amount=np.maximum(amount, 0.01), merchant=term, terminal=term,
        channel=np.full(n, -1, np.int8), entry=np.full(n, -1, np.int8), scenario=scenario,
        is_fraud=is_fraud, reported_at=np.where(is_fraud == 1, ts, -1), card_ids=cust_ids,
        customer_of_card=np.arange(cfg.customers), customer_ids=cust_ids, merchant_ids=term_ids,
        merchant_cols={"name": nulls, "mcc": nulls, "country": nulls,
                       "lat": pa.nulls(cfg.terminals, pa.float64()),
                       "lon": pa.nulls(cfg.terminals, pa.float64())},
        terminal_ids=term_ids, scenario_names=HANDBOOK_SCENARIOS,
    )  # fmt: skip
    cards = pa.table(
        {
            "card_id": cust_ids, "customer_id": cust_ids,
            "home_country": pa.nulls(cfg.customers, pa.string()),
            "home_lat": pa.nulls(cfg.customers, pa.float64()),
            "home_lon": pa.nulls(cfg.customers, pa.float64()),
            "x": cust_xy[:, 0], "y": cust_xy[:, 1], "mean_amount": mean_amount,
            "std_amount": std_amount, "mean_nb_tx_per_day": mean_tx,
            "nb_terminals": t_count,
        }
    )  # fmt: skip
    merchants = pa.table({"merchant_id": term_ids, "x": term_xy[:, 0], "y": term_xy[:, 1]})
    frauds = {s: int((scenario == i).sum()) for i, s in enumerate(HANDBOOK_SCENARIOS) if i}
    truth = {
        "preset": "handbook",
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "period": {"start": cfg.start.isoformat(), "days": cfg.days},
        "compromised_terminals": [
            {"start": iso(epoch0 + d * 86_400), "days": cfg.terminal_compromise_days,
             "merchant_ids": [str(t) for t in sorted(ts_.tolist())]}
            for d, ts_ in enumerate(comp_terms)
        ],
        "compromised_customers": [
            {"start": iso(epoch0 + d * 86_400), "days": cfg.customer_compromise_days,
             "card_ids": [str(c) for c in sorted(cs.tolist())]}
            for d, cs in enumerate(comp_custs)
        ],
        "stats": {"transactions": n, "fraud_transactions": int(is_fraud.sum()),
                  "fraud_rate": round(float(is_fraud.mean()) if n else 0.0, 6),
                  "fraud_by_scenario": frauds,
                  "fraud_cards": len(np.unique(cust[is_fraud == 1]))},
    }  # fmt: skip
    return World(transactions=table, cards=cards, merchants=merchants, truth=truth)
