"""The time concentration of defrauded cards' visits to one place: *when*, given *who*.

The population test (:mod:`cardwatch.breach.stats`) asks whether a place had more defrauded
visitors than its popularity explains; at a chain a third of all cards visit, a handful of victims
cannot beat that. This test asks a different question, on the same defrauded cards: given how
many times each of them paid at the place before its fraud, did those visits fall in one window
more often than the place's own rhythm explains? Under the null a defrauded card's visits to a
place are spread like the place's traffic over the card's history before its fraud, whatever the
card or the place; a breach's victims all paid there while the tills leaked. Since the test is
conditional on each card's number of visits, neither the place's popularity nor the cards'
activity enters it, and choosing which places to test from those counts (places visited by at
least ``min_fraud_cards`` defrauded cards) leaves it valid: a Bonferroni correction over just
those places is exact.

For card ``c`` with ``m`` visits before its fraud at ``f``, the chance that at least one fell in
window ``W`` is at most ``m * T(W before f) / T(before f)`` (``T``: the place's payments; a union
bound, exact for one visit, and valid however a card's visits depend on each other). The number of
cards with a visit in ``W`` is then a sum of independent Bernoulli variables, whose tail is bounded
by Chernoff while windows are scanned and computed exactly for the chosen one; the scan over
windows pays Naus's factor, as in :mod:`cardwatch.breach.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cardwatch.breach.stats import DAY_US

__all__ = ["Concentration", "concentrate", "log_poisson_binomial_sf"]

_T = np.linspace(0.25, 24.0, 32)  # Chernoff exponents tried (the bound holds at each)


@dataclass(frozen=True, slots=True)
class Concentration:
    """The densest window of one place's defrauded visitors: bounds (µs, inclusive), cards with
    a visit in it, their expected number under the null, and the natural log of the p-value
    (scan-corrected, not yet corrected for the places tested)."""

    start_us: int
    end_us: int
    fraud_cards: int
    expected: float
    log_p: float


def log_poisson_binomial_sf(k: int, p: np.ndarray) -> float:
    """Natural log of P(K >= k), K the number of successes of independent trials ``p``.

    >>> round(math.exp(log_poisson_binomial_sf(2, np.array([0.5, 0.5, 0.5]))), 3)
    0.5
    >>> round(log_poisson_binomial_sf(3, np.array([0.1, 0.2, 0.5])), 4) == round(math.log(0.01), 4)
    True
    """
    if k <= 0:
        return 0.0
    if k > len(p):
        return -math.inf
    dist = np.zeros(k + 1)  # dist[j]: P(j successes so far), the last cell P(>= k)
    dist[0] = 1.0
    for q in np.clip(p, 0.0, 1.0):
        tail = dist[k] + dist[k - 1] * q
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
        dist[k] = tail
    return math.log(dist[k]) if dist[k] > 0 else -math.inf


def _cum(day_txns: np.ndarray, day0_us: int, t_us: np.ndarray) -> np.ndarray:
    """The place's payments from ``day0_us`` to ``t_us``, linear within a day."""
    cum = np.concatenate([[0.0], np.cumsum(day_txns.astype(np.float64))])
    x = np.clip((np.asarray(t_us, dtype=np.float64) - day0_us) / DAY_US, 0.0, len(day_txns))
    return np.interp(x, np.arange(len(cum)), cum)


def concentrate(
    card: np.ndarray,
    ts_us: np.ndarray,
    first_us: np.ndarray,
    day_txns: np.ndarray,
    day0_us: int,
    span_days: float,
    min_window_days: float,
    min_fraud_cards: int,
    max_endpoints: int = 48,
) -> Concentration | None:
    """The most significant window of the visits ``ts_us`` by cards ``card`` (each visit before
    that card's first fraud ``first_us``, given per visit) to a place with payments per day
    ``day_txns`` from ``day0_us``; ``None`` when fewer than ``min_fraud_cards`` cards visited.

    >>> day = DAY_US
    >>> card = np.arange(6)
    >>> ts = np.array([40, 41, 41, 42, 43, 44]) * day
    >>> first = np.full(6, 60) * day
    >>> c = concentrate(card, ts, first, np.full(90, 20.0), 0, 90.0, 1.0, 3)
    >>> (c.start_us // day, c.end_us // day, c.fraud_cards, c.log_p < math.log(1e-3))
    (40, 44, 6, True)
    >>> spread = np.array([5, 15, 25, 35, 45, 55]) * day
    >>> concentrate(card, spread, first, np.full(90, 20.0), 0, 90.0, 1.0, 3).log_p > -2
    True
    """
    ids, code = np.unique(card, return_inverse=True)
    if len(ids) < max(min_fraud_cards, 1):
        return None
    m = np.bincount(code).astype(np.float64)
    f = np.zeros(len(ids), dtype=np.int64)
    f[code] = first_us
    before = _cum(day_txns, day0_us, f)
    ok = before > 0
    if ok.sum() < min_fraud_cards:
        return None
    starts = np.unique(ts_us)
    if len(starts) > max_endpoints:
        picks = np.quantile(starts, np.linspace(0, 1, max_endpoints)).astype(np.int64)
        starts = np.unique(starts[np.minimum(np.searchsorted(starts, picks), len(starts) - 1)])
    min_w = int(min_window_days * DAY_US)
    ends = np.maximum(starts[None, :], starts[:, None] + min_w)  # [start, end]
    valid = starts[None, :] >= starts[:, None]
    si, ei = np.nonzero(valid)
    ws, we = starts[si], ends[si, ei]  # one row per window
    # hit[w, c]: card c paid there within window w.
    order = np.lexsort((ts_us, code))
    sc, st = code[order], ts_us[order]
    hit = np.zeros((len(ws), len(ids)), bool)
    for c in range(len(ids)):
        visits = st[sc == c]
        at = np.searchsorted(visits, ws)
        nxt = visits[np.minimum(at, len(visits) - 1)]
        hit[:, c] = (at < len(visits)) & (nxt <= we)
    k = hit.sum(axis=1)
    lo = _cum(day_txns, day0_us, ws)[:, None]
    hi = _cum(day_txns, day0_us, np.minimum(we[:, None], f[None, :]))
    share = np.where(ok[None, :], np.clip(hi - lo, 0.0, None) / np.where(ok, before, 1.0), 0.0)
    p = np.minimum(1.0, m[None, :] * share)
    expected = p.sum(axis=1)
    # Chernoff: log P(K >= k) <= min_t sum log(1 - p + p e^t) - t k.
    terms = np.log1p(p[:, :, None] * np.expm1(_T)[None, None, :]).sum(axis=1)
    bound = np.minimum(0.0, (terms - _T[None, :] * k[:, None]).min(axis=1))
    days = np.maximum((we - ws) / DAY_US, min_window_days)
    scan = np.log(np.maximum(1.0, (k - expected) * span_days / days))
    stat = np.where((k >= min_fraud_cards) & (k > expected), bound + scan, np.inf)
    if not np.isfinite(stat).any():
        return None
    w = int(np.argmin(stat))
    exact = log_poisson_binomial_sf(int(k[w]), p[w])
    return Concentration(int(ws[w]), int(we[w]), int(k[w]), float(expected[w]),
                         min(0.0, exact + float(scan[w])))  # fmt: skip
