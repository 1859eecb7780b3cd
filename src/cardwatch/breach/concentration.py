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
cards with a visit in ``W`` is then a sum of independent Bernoulli variables, whose tail is
computed exactly. Windows come from a dyadic family fixed in advance (:func:`dyadic_windows`), and
the best one pays a Bonferroni factor for the family: calibrated by construction. (The first
version scanned every pair of visit times and paid Naus's factor: on uniform visits it gave
p < 5 % in 21 of 200 draws.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cardwatch.breach.stats import DAY_US

__all__ = ["Concentration", "concentrate", "dyadic_windows", "log_poisson_binomial_sf"]


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


def dyadic_windows(lo_us: int, hi_us: int, min_days: float) -> tuple[np.ndarray, np.ndarray]:
    """A family of windows fixed before looking at the data: lengths ``min_days`` × 2^j up to
    the span ``[lo_us, hi_us]``, each sliding by half its length. Any stretch of time is covered
    by one of them at least half as long as itself, so scanning them loses little to a scan over
    every window; they are few (about four per day of span), so a Bonferroni correction over
    them is cheap and exact.

    >>> ws, we = dyadic_windows(0, 8 * DAY_US, 1.0)
    >>> len(ws), int((we - ws).max() // DAY_US)
    (26, 8)
    """
    span = max(hi_us - lo_us, 1)
    length = max(int(min_days * DAY_US), 1)
    starts, ends = [], []
    while True:
        step = max(length // 2, 1)
        s = np.arange(lo_us, max(hi_us - length, lo_us) + 1, step, dtype=np.int64)
        starts.append(s)
        ends.append(np.minimum(s + length, hi_us))
        if length >= span:
            break
        length *= 2
    return np.concatenate(starts), np.concatenate(ends)


def _poisson_binomial_sf(k: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(K_w >= k_w) for each row ``w`` of success probabilities ``p`` (windows × cards)."""
    top = int(k.max(initial=0))
    dist = np.zeros((len(k), top + 2))
    dist[:, 0] = 1.0
    for q in np.clip(p, 0.0, 1.0).T:  # one card at a time; the last cell holds "more than top"
        shifted = dist * q[:, None]
        dist *= 1.0 - q[:, None]
        dist[:, 1:] += shifted[:, :-1]
        dist[:, -1] += shifted[:, -1]
    cum = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # cum[:, j] = P(K >= j)
    return cum[np.arange(len(k)), np.minimum(k, top + 1)]


def concentrate(
    card: np.ndarray,
    ts_us: np.ndarray,
    first_us: np.ndarray,
    day_txns: np.ndarray,
    day0_us: int,
    span_days: float,
    min_window_days: float,
    min_fraud_cards: int,
) -> Concentration | None:
    """The most significant window of the visits ``ts_us`` by cards ``card`` (each visit before
    that card's first fraud ``first_us``, given per visit) to a place with payments per day
    ``day_txns`` from ``day0_us``; ``None`` when fewer than ``min_fraud_cards`` cards visited.

    Windows are the :func:`dyadic_windows` over the last ``span_days`` of the place's days, each
    with its exact tail probability (the visits of different cards are independent under the
    null); the best pays a Bonferroni factor for the family, so the p-value is calibrated (and
    conservative) by construction.

    >>> day = DAY_US
    >>> card = np.arange(6)
    >>> ts = np.array([40, 41, 41, 42, 43, 44]) * day
    >>> first = np.full(6, 60) * day
    >>> c = concentrate(card, ts, first, np.full(90, 20.0), 0, 90.0, 1.0, 3)
    >>> (c.start_us // day <= 40, c.end_us // day >= 44, c.fraud_cards, c.log_p < math.log(1e-3))
    (True, True, 6, True)
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
    hi_us = day0_us + len(day_txns) * DAY_US
    lo_us = max(day0_us, hi_us - int(span_days * DAY_US))
    ws, we = dyadic_windows(lo_us, hi_us, min_window_days)
    # hit[w, c]: card c paid there within window w.
    order = np.lexsort((ts_us, code))
    sc, st = code[order], ts_us[order]
    bounds = np.searchsorted(sc, np.arange(len(ids) + 1))
    hit = np.zeros((len(ws), len(ids)), bool)
    for c in range(len(ids)):
        visits = st[bounds[c] : bounds[c + 1]]
        at = np.searchsorted(visits, ws)
        nxt = visits[np.minimum(at, len(visits) - 1)]
        hit[:, c] = (at < len(visits)) & (nxt <= we)
    k = hit.sum(axis=1)
    lo = _cum(day_txns, day0_us, ws)[:, None]
    hi = _cum(day_txns, day0_us, np.minimum(we[:, None], f[None, :]))
    share = np.where(ok[None, :], np.clip(hi - lo, 0.0, None) / np.where(ok, before, 1.0), 0.0)
    p = np.minimum(1.0, m[None, :] * share)  # a union bound: at least the true chance
    expected = p.sum(axis=1)
    keep = np.flatnonzero((k >= min_fraud_cards) & (k > expected))
    if len(keep) == 0:
        return None
    tail = _poisson_binomial_sf(k[keep], p[keep])
    with np.errstate(divide="ignore"):
        log_tail = np.log(tail)
    w = keep[int(np.argmin(log_tail))]
    log_p = float(log_tail.min()) + math.log(len(ws))
    return Concentration(int(ws[w]), int(we[w]), int(k[w]), float(expected[w]),
                         min(0.0, log_p))  # fmt: skip
