"""Preset ``handbook``: the Fraud-Detection Handbook's simulated dataset, the very same rows.

Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud Detection — Practical
Handbook* (2022), chapter 3.2. The book's generator is deterministic — numpy's legacy global
``RandomState`` and Python's ``random``, seeded by fixed numbers — so replaying the same random
calls in the same order reproduces its data exactly: 1,754,155 transactions and 14,681 frauds
for the default configuration, the new frauds of scenarios 1, 2 and 3 being 978, 9,099 and 4,604
as the book prints them (final labels 973 / 9,077 / 4,631: later scenarios overwrite earlier
ones), and the first transaction (00:00:31, customer 596, terminal 3156, 57.16) the book's.
Only the order of transactions in the same second may differ from the book's run (pandas'
quicksort is not stable, and numpy's sort has changed since), which moves no count.
The benchmark's published figures were measured on those rows, so only those rows make a fair
comparison; a look-alike with other random numbers moved every figure by a point or two.

The book's process and its random calls, in order:

1. customers (``RandomState(0)``), each drawing x, y ~ U(0, 100), mean amount ~ U(5, 100)
   (std = mean / 2) and transactions per day ~ U(0, 4); terminals (``RandomState(1)``), x and y;
   each customer uses the terminals closer than ``radius`` (Euclidean distance, strictly less);
2. per customer, reseeding both ``numpy`` and ``random`` with the customer's id, day after day:
   the day's count ~ Poisson(mean per day); per transaction a second of the day
   ``int(N(43,200, 20,000))``, dropped outside (0, 86,400); an amount N(mean, std), a negative
   one redrawn U(0, 2 × mean), rounded to the cent; a terminal by ``random.choice``;
3. all transactions concatenated customer after customer, sorted by time (pandas' default
   quicksort), numbered in that order (``TRANSACTION_ID``);
4. frauds: (1) any amount > 220; (2) for each day d but the last, 2 terminals drawn by
   ``Series.sample(n=2, random_state=d)`` — all their transactions of days [d, d + 28) are
   fraud; (3) for each such day, 3 customers by ``sample(n=3, random_state=d)``, and among their
   transactions of days [d, d + 14) (in ``TRANSACTION_ID`` order) a third chosen by
   ``random.seed(d); random.sample(...)`` are multiplied by 5 (not rounded again) and are fraud.

Here the per-customer draws run in a compiled kernel fed with the raw streams of the two
generators (numpy's doubles from ``RandomState.random_sample``, Python's 32-bit words from
``getrandbits``) and re-implement numpy's legacy Poisson (multiplication method), polar
Box–Muller (with its cached second value) and uniform, and Python's ``_randbelow``; everything
else calls the library functions the book calls. ``tests/world/test_handbook.py`` checks the
kernel against a plain transcription of the book's loop.

``seed`` is the book's ``random_state``: 0 gives the book's data. Another seed shifts every
seed of the process (customers ``seed``, terminals ``seed + 1``, customer c
``seed × customers + c``, fraud day d ``seed × days + d``) for another world of the same law.

``fraud_reported_at`` is the transaction's own timestamp: the Handbook's evaluation applies its
own delay (a 7-day gap between training and test periods), so the label is set at once here and
the delay is the evaluator's to apply. Amounts are floored at 0.01 (the contract wants them
positive; the book has a handful of 0.00).
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable

import numba as nb
import numpy as np
import pandas as pd
import pyarrow as pa

from cardwatch.world.assemble import transactions_table
from cardwatch.world.config import HandbookConfig
from cardwatch.world.result import Step, World, iso

__all__ = ["HANDBOOK_SCENARIOS", "book_transactions", "simulate_handbook"]

#: ``scenario`` values of the handbook preset, in the Handbook's order (TX_FRAUD_SCENARIO 1..3).
HANDBOOK_SCENARIOS = ("", "high_amount", "compromised_terminal", "compromised_customer")

_DAY = 86_400
_U32 = 2**32


def _profiles(cfg: HandbookConfig) -> tuple[np.ndarray, ...]:
    """Customer and terminal profiles: per customer x, y, mean amount, mean transactions per
    day; per terminal x, y — drawn in the book's order (one customer's four values, then the
    next's), so one block of uniforms scaled like ``low + (high - low) × u`` gives its values."""
    u = np.random.RandomState(cfg.seed % _U32).random_sample((cfg.customers, 4))
    cust_xy = 100.0 * u[:, :2]
    mean_amount = 5.0 + 95.0 * u[:, 2]
    mean_tx = 4.0 * u[:, 3]
    term_xy = 100.0 * np.random.RandomState((cfg.seed + 1) % _U32).random_sample((cfg.terminals, 2))
    return cust_xy, mean_amount, mean_tx, term_xy


def _within_radius(cust_xy: np.ndarray, term_xy: np.ndarray, r: float) -> list[np.ndarray]:
    """Per customer, the terminals strictly closer than ``r``, in id order — the book's
    ``sqrt(sum(square(customer - terminals)))`` so that the boundary falls the same way."""
    out: list[np.ndarray] = []
    for lo in range(0, len(cust_xy), 256):
        block = cust_xy[lo : lo + 256]
        dist = np.sqrt(np.sum(np.square(block[:, None, :] - term_xy[None, :, :]), axis=2))
        out.extend(np.flatnonzero(row < r) for row in dist)
    return out


@nb.njit(cache=True)
def _gauss(u: np.ndarray, st: np.ndarray) -> float:
    """numpy's legacy ``gauss`` (polar method): two uniforms per attempt, the second value kept
    for the next call. ``st`` = [next index into ``u``, has a cached value, cached value];
    returns NaN when ``u`` ran out."""
    if st[1] != 0.0:
        st[1] = 0.0
        g = st[2]
        st[2] = 0.0
        return g
    i = int(st[0])
    while True:
        if i + 1 >= u.shape[0]:
            return np.nan
        x1 = 2.0 * u[i] - 1.0
        x2 = 2.0 * u[i + 1] - 1.0
        i += 2
        r2 = x1 * x1 + x2 * x2
        if r2 < 1.0 and r2 != 0.0:
            break
    st[0] = i
    f = np.sqrt(-2.0 * np.log(r2) / r2)
    st[1] = 1.0
    st[2] = f * x1
    return f * x2


@nb.njit(cache=True)
def _customer_days(
    u: np.ndarray,
    w: np.ndarray,
    lam: float,
    mean: float,
    std: float,
    n_terms: int,
    days: int,
    second: np.ndarray,
    amount: np.ndarray,
    pick: np.ndarray,
) -> int:
    """One customer's transactions from the raw streams ``u`` (numpy's doubles) and ``w``
    (Python's 32-bit words); returns how many, or -1 when a stream or an output ran out (the
    caller retries with longer ones). ``second`` is seconds since the start, ``pick`` the index
    into the customer's terminal list.

    numpy's legacy ``poisson`` (lam < 10: multiply uniforms until the product falls to
    exp(-lam)), ``normal`` (loc + scale × gauss) and ``uniform`` (low + range × u); Python's
    ``choice`` (``getrandbits(k)``, k the bit length of n, redrawn while >= n: the top k bits
    of one word).
    """
    st = np.zeros(3)
    iw = 0
    n = 0
    enlam = np.exp(-lam)
    k = 0
    while (1 << k) <= n_terms:
        k += 1
    for day in range(days):
        count = 0
        if lam != 0.0:
            prod = 1.0
            while True:
                i = int(st[0])
                if i >= u.shape[0]:
                    return -1
                prod *= u[i]
                st[0] = i + 1
                if prod > enlam:
                    count += 1
                else:
                    break
        for _ in range(count):
            g = _gauss(u, st)
            if np.isnan(g):
                return -1
            t = int(43_200.0 + 20_000.0 * g)
            if t <= 0 or t >= 86_400:
                continue
            g = _gauss(u, st)
            if np.isnan(g):
                return -1
            value = mean + std * g
            if value < 0.0:
                i = int(st[0])
                if i >= u.shape[0]:
                    return -1
                value = 0.0 + (mean * 2.0) * u[i]
                st[0] = i + 1
            if n_terms == 0:
                continue
            while True:
                if iw >= w.shape[0]:
                    return -1
                r = w[iw] >> (32 - k)
                iw += 1
                if r < n_terms:
                    break
            if n >= second.shape[0]:
                return -1
            second[n] = day * 86_400 + t
            amount[n] = value
            pick[n] = r
            n += 1
    return n


def _customer(
    seed: int, lam: float, mean: float, n_terms: int, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One customer's (seconds, amounts before rounding, terminal list indices)."""
    size = 48 * days
    while True:
        u = np.random.RandomState(seed).random_sample(size)
        words = random.Random(seed).getrandbits(8 * size).to_bytes(size, "little")
        w = np.frombuffer(words, dtype="<u4").astype(np.int64)
        cap = size // 4 + 64
        second, amount = np.empty(cap, np.int64), np.empty(cap, np.float64)
        pick = np.empty(cap, np.int64)
        n = _customer_days(u, w, lam, mean, mean / 2, n_terms, days, second, amount, pick)
        if n >= 0:
            return second[:n], amount[:n], pick[:n]
        size *= 4


def book_transactions(
    cfg: HandbookConfig, on_customers: Callable[[int], None] | None = None
) -> dict[str, np.ndarray]:
    """The book's ``transactions_df`` after ``add_frauds``, as arrays in ``TRANSACTION_ID``
    order: ``second`` (since the start), ``day``, ``customer``, ``terminal``, ``amount``,
    ``scenario`` (0–3); plus the profiles and the compromised terminals and customers per day.
    ``on_customers`` is called with the number of customers done, every 500."""
    cust_xy, mean_amount, mean_tx, term_xy = _profiles(cfg)
    terminals = _within_radius(cust_xy, term_xy, cfg.radius)
    parts_s, parts_a, parts_t, parts_c = [], [], [], []
    for c in range(cfg.customers):
        s, a, p = _customer(
            (cfg.seed * cfg.customers + c) % _U32,
            float(mean_tx[c]),
            float(mean_amount[c]),
            len(terminals[c]),
            cfg.days,
        )
        parts_s.append(s)
        parts_a.append(a)
        parts_t.append(terminals[c][p])
        parts_c.append(np.full(len(s), c, np.int64))
        if on_customers is not None and (c + 1) % 500 == 0:
            on_customers(c + 1)
    second = np.concatenate(parts_s) if parts_s else np.zeros(0, np.int64)
    amount = np.round(np.concatenate(parts_a) if parts_a else np.zeros(0), 2)
    terminal = np.concatenate(parts_t).astype(np.int64) if parts_t else np.zeros(0, np.int64)
    customer = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int64)
    # pandas' sort_values("TX_DATETIME") (quicksort on datetime64[ns]), as the book sorts
    stamps = pd.Series(pd.to_datetime(second, unit="s", origin=cfg.start.isoformat()))
    order = stamps.sort_values().index.to_numpy()
    second, amount = second[order], amount[order]
    terminal, customer = terminal[order], customer[order]
    day = second // _DAY

    scenario = np.zeros(len(second), dtype=np.int8)
    scenario[amount > 220] = 1
    printed = [int((scenario > 0).sum())]  # the book prints the new frauds of each scenario
    last_day = int(day.max()) if len(day) else 0
    comp_terms = [
        np.random.RandomState((cfg.seed * cfg.days + d) % _U32).choice(
            cfg.terminals, cfg.compromised_terminals_per_day, replace=False
        )
        for d in range(last_day)
    ]
    for d, ts_ in enumerate(comp_terms):
        in_window = (day >= d) & (day < d + cfg.terminal_compromise_days)
        scenario[in_window & np.isin(terminal, ts_)] = 2
    printed.append(int((scenario > 0).sum()) - printed[0])
    by_cust = np.lexsort((np.arange(len(customer)), customer))  # per customer, by id
    c_sorted = customer[by_cust]
    comp_custs = []
    for d in range(last_day):
        seed = (cfg.seed * cfg.days + d) % _U32
        chosen = np.random.RandomState(seed).choice(
            cfg.customers, cfg.compromised_customers_per_day, replace=False
        )
        comp_custs.append(chosen)
        rows = [
            by_cust[np.searchsorted(c_sorted, c, "left") : np.searchsorted(c_sorted, c, "right")]
            for c in chosen
        ]
        idx = np.sort(np.concatenate(rows))
        idx = idx[(day[idx] >= d) & (day[idx] < d + cfg.customer_compromise_days)]
        picked = np.array(random.Random(seed).sample(idx.tolist(), k=len(idx) // 3), np.int64)
        if len(picked):
            amount[picked] = amount[picked] * 5
            scenario[picked] = 3
    printed.append(int((scenario > 0).sum()) - printed[0] - printed[1])
    return {
        "printed": np.array(printed),
        "second": second,
        "day": day,
        "customer": customer,
        "terminal": terminal,
        "amount": amount,
        "scenario": scenario,
        "cust_xy": cust_xy,
        "mean_amount": mean_amount,
        "mean_tx": mean_tx,
        "term_xy": term_xy,
        "nb_terminals": np.array([len(t) for t in terminals], np.int64),
        "comp_terms": comp_terms,  # type: ignore[dict-item]
        "comp_custs": comp_custs,  # type: ignore[dict-item]
    }


def _ids(n: int) -> pa.Array:
    return pa.array([str(i) for i in range(n)])


def simulate_handbook(config: HandbookConfig | None = None, on_step: Step | None = None) -> World:
    """The Handbook's dataset (5,000 customers, 10,000 terminals, 183 days by default), with
    ``txn_id`` ``t`` + the book's ``TRANSACTION_ID`` (10 digits).

    >>> w = simulate_handbook(HandbookConfig(customers=50, terminals=100, days=10))
    >>> w.transactions.num_rows > 300, w.truth["preset"]
    (True, 'handbook')
    """
    cfg = config or HandbookConfig()
    step = on_step or (lambda _: None)
    step("profiles and transactions")
    book = book_transactions(cfg)
    step("frauds")
    second, customer, terminal = book["second"], book["customer"], book["terminal"]
    amount, scenario = book["amount"], book["scenario"]
    n = len(second)
    comp_terms, comp_custs = book["comp_terms"], book["comp_custs"]

    step("tables")
    epoch0 = calendar.timegm(cfg.start.timetuple())
    ts = epoch0 + second
    is_fraud = (scenario > 0).astype(np.int8)
    nulls = pa.nulls(cfg.terminals, pa.string())
    term_ids = _ids(cfg.terminals)
    cust_ids = _ids(cfg.customers)
    table = transactions_table(
        card=customer, ts=ts, amount=np.maximum(amount, 0.01), merchant=terminal,
        terminal=terminal, channel=np.full(n, -1, np.int8), entry=np.full(n, -1, np.int8),
        scenario=scenario, is_fraud=is_fraud, reported_at=np.where(is_fraud == 1, ts, -1),
        card_ids=cust_ids, customer_of_card=np.arange(cfg.customers), customer_ids=cust_ids,
        merchant_ids=term_ids,
        merchant_cols={"name": nulls, "mcc": nulls, "country": nulls,
                       "lat": pa.nulls(cfg.terminals, pa.float64()),
                       "lon": pa.nulls(cfg.terminals, pa.float64())},
        terminal_ids=term_ids, scenario_names=HANDBOOK_SCENARIOS,
    )  # fmt: skip
    cust_xy, mean_amount, term_xy = book["cust_xy"], book["mean_amount"], book["term_xy"]
    cards = pa.table(
        {
            "card_id": cust_ids, "customer_id": cust_ids,
            "home_country": pa.nulls(cfg.customers, pa.string()),
            "home_lat": pa.nulls(cfg.customers, pa.float64()),
            "home_lon": pa.nulls(cfg.customers, pa.float64()),
            "x": cust_xy[:, 0], "y": cust_xy[:, 1], "mean_amount": mean_amount,
            "std_amount": mean_amount / 2, "mean_nb_tx_per_day": book["mean_tx"],
            "nb_terminals": book["nb_terminals"],
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
            {"start": iso(epoch0 + d * _DAY), "days": cfg.terminal_compromise_days,
             "merchant_ids": [str(t) for t in sorted(ts_.tolist())]}
            for d, ts_ in enumerate(comp_terms)
        ],
        "compromised_customers": [
            {"start": iso(epoch0 + d * _DAY), "days": cfg.customer_compromise_days,
             "card_ids": [str(c) for c in sorted(cs.tolist())]}
            for d, cs in enumerate(comp_custs)
        ],
        "stats": {"transactions": n, "fraud_transactions": int(is_fraud.sum()),
                  "fraud_rate": round(float(is_fraud.mean()) if n else 0.0, 6),
                  "fraud_by_scenario": frauds,
                  "fraud_cards": len(np.unique(customer[is_fraud == 1]))},
    }  # fmt: skip
    return World(transactions=table, cards=cards, merchants=merchants, truth=truth)
