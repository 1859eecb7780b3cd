"""The statistics of a common point of purchase: is this many defrauded cards at one place, in
one window, more than chance?

Under the null hypothesis a card paying at a place is a defrauded card with the probability that
any active card is one, raised by how much more active defrauded cards are (they visit more
places). The count of defrauded cards among the ``n`` distinct cards that paid there is then
hypergeometric. The window is chosen from the data — the densest run of defrauded cards' visits —
so the tail probability is corrected for that search with Naus's approximation for the scan
statistic, ``P(max count in any window of length w >= k) ~ (k - psi) * (L / w) * P(count >= k)``,
and then Bonferroni-corrected over all places tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln
from scipy.stats import hypergeom

__all__ = [
    "DAY_US",
    "Window",
    "activity_ratio",
    "expected_unseen",
    "localise_window",
    "log_p_window",
    "log_p_windows",
    "log_scan_factor",
    "log_tail_fast",
]

DAY_US = 86_400_000_000


@dataclass(frozen=True, slots=True)
class Window:
    """A candidate window at one place: its bounds (µs since the epoch, inclusive) and the
    distinct defrauded cards that paid there within it before their first fraud."""

    start_us: int
    end_us: int
    fraud_cards: int


def log_p_window(k: int, n: int, population: int, fraud: float) -> float:
    """Natural log of P(X >= k), X hypergeometric: ``n`` cards drawn from ``population`` of
    which ``fraud`` (activity-weighted, rounded) are defrauded.

    >>> round(math.exp(log_p_window(2, 10, 100, 10)), 4)
    0.2615
    >>> log_p_window(0, 10, 100, 10)
    0.0
    """
    if k <= 0:
        return 0.0
    population = max(int(population), n, k)
    good = min(max(round(fraud), k), population)
    value = float(hypergeom.logsf(k - 1, population, good, n))
    if not math.isfinite(value):  # beyond double precision: use the point mass (a lower bound)
        value = float(hypergeom.logpmf(k, population, good, n))
    return value


def log_p_windows(
    k: np.ndarray, n: np.ndarray, population: np.ndarray | int, fraud: np.ndarray, terms: int = 48
) -> np.ndarray:
    """:func:`log_p_window` for many windows at once: the point mass at ``k`` from log-gamma,
    then the next ``terms`` masses by their ratios, and what lies beyond bounded by a geometric
    series (the ratios only fall beyond the mode; a count still below the mode after ``terms``
    masses is taken exactly). Never below the exact tail (the bound errs towards no alert) and
    within a hair of it where alerts are decided.

    >>> k, n = np.array([8, 2, 3, 0]), np.array([20, 20, 40, 5])
    >>> exact = [log_p_window(int(a), int(b), 200, 30) for a, b in zip(k, n)]
    >>> fast = log_p_windows(k, n, 200, np.full(4, 30.0))
    >>> bool(np.all(fast >= np.array(exact) - 1e-9)), bool(np.allclose(fast, exact, atol=1e-6))
    (True, True)
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    pop = np.maximum(np.broadcast_to(np.asarray(population, dtype=np.float64), k.shape),
                     np.maximum(n, k))  # fmt: skip
    good = np.minimum(np.maximum(np.round(np.asarray(fraud, dtype=np.float64)), k), pop)
    out = np.zeros(k.shape)
    ok = (k > 0) & (k <= n) & (n - k <= pop - good)
    if not ok.any():
        return out
    kk, nn, pp, gg = k[ok], n[ok], pop[ok], good[ok]
    log_pmf = _log_comb(gg, kk) + _log_comb(pp - gg, nn - kk) - _log_comb(pp, nn)
    total = np.ones(len(kk))
    term = np.ones(len(kk))
    j = kk.copy()
    ratio = np.zeros(len(kk))
    for _ in range(terms):
        ratio = np.clip((gg - j) * (nn - j) / ((j + 1) * (pp - gg - nn + j + 1)), 0.0, None)
        term = term * ratio
        total += term
        j += 1
    # Beyond: each further ratio is at most the last one — once past the mode. A count far
    # below its expectation (a popular place that defrauded cards visit less than chance says)
    # is still climbing after ``terms`` masses, the bound does not hold there, and its tail, near
    # 1, is taken exactly.
    climbing = ratio >= 1.0
    last = np.minimum(ratio, 1 - 1e-12)
    total += term * last / (1 - last)
    tail = np.minimum(log_pmf + np.log(total), 0.0)
    if climbing.any():
        tail[climbing] = hypergeom.logsf(kk[climbing] - 1, pp[climbing], gg[climbing],
                                         nn[climbing])  # fmt: skip
    out[ok] = tail
    return out


def log_scan_factor(k: int, expected: float, lookback_days: float, window_days: float) -> float:
    """Natural log of Naus's scan-statistic factor for having searched every window of this
    length over the look-back: ``max(1, (k - expected) * L / w)``.

    >>> round(math.exp(log_scan_factor(10, 2.0, 120.0, 12.0)), 1)
    80.0
    >>> log_scan_factor(1, 3.0, 120.0, 12.0)
    0.0
    """
    factor = (k - expected) * lookback_days / max(window_days, 1e-9)
    return math.log(factor) if factor > 1.0 else 0.0


def activity_ratio(
    fraud_txns: float, fraud_card_days: float, txns: float, cards: float, lookback_days: float
) -> float:
    """How many more payments a defrauded card makes per day, before its fraud, than an average
    card: victims of breaches tend to be active cardholders, and active cards are everywhere.
    Never below 1, so that the adjustment can only make an alert harder.

    >>> activity_ratio(600, 1800, 1000, 100, 60)
    2.0
    >>> activity_ratio(10, 100, 1000, 100, 60)
    1.0
    """
    if fraud_card_days <= 0 or cards <= 0 or txns <= 0:
        return 1.0
    fraud_rate = fraud_txns / fraud_card_days
    all_rate = txns / (cards * lookback_days)
    return max(1.0, fraud_rate / all_rate)


def log_tail_fast(
    k: np.ndarray, population: int, good: np.ndarray | int, n: np.ndarray
) -> np.ndarray:
    """Vectorised approximation of log P(X >= k), X hypergeometric: the point mass at ``k``
    (from log-gamma) times the geometric series of the ratio of successive masses; 0 when ``k``
    is not above the mode. Fast enough to scan thousands of windows per place.

    >>> k, n = np.array([8, 2]), np.array([20, 20])
    >>> exact = hypergeom.logsf(k - 1, 200, 30, n)
    >>> fast = log_tail_fast(k, 200, 30, n)
    >>> bool(abs(fast[0] - exact[0]) < 0.1), float(fast[1])
    (True, 0.0)
    """
    k = np.asarray(k, dtype=np.float64)
    good = np.broadcast_to(np.asarray(good, dtype=np.float64), k.shape)
    n = np.asarray(n, dtype=np.float64)
    bad = population - good
    ok = (k <= good) & (k <= n) & (n - k <= bad)
    kk, gg, nn = np.where(ok, k, 0.0), np.where(ok, good, 1.0), np.where(ok, n, 0.0)
    log_pmf = (
        _log_comb(gg, kk)
        + _log_comb(population - gg, nn - kk)
        - _log_comb(np.full_like(nn, population), nn)
    )
    ratio = (gg - kk) * (nn - kk) / ((kk + 1) * (population - gg - nn + kk + 1))
    mode = (nn + 1) * (gg + 1) / (population + 2)
    tail = log_pmf - np.log1p(-np.minimum(ratio, 1 - 1e-12))
    return np.where(ok & (kk > mode), np.minimum(tail, 0.0), 0.0)


def _log_comb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def localise_window(
    card: np.ndarray,
    ts_us: np.ndarray,
    day_txns: np.ndarray,
    day0_us: int,
    place_cards: int,
    population: int,
    fraud_first_us: np.ndarray,
    activity: float,
    lookback_days: float,
    min_window_days: float,
    min_fraud_cards: int,
    max_endpoints: int = 256,
) -> Window | None:
    """When the place was compromised: the window whose visitors include the most improbable
    number of defrauded cards (the test of :func:`log_p_window`, with the scan correction).

    ``card`` and ``ts_us`` list the defrauded cards' visits before their fraud; ``day_txns``
    the place's payments per day from ``day0_us``; ``place_cards`` its distinct cards over the
    look-back; ``fraud_first_us`` (sorted) every defrauded card's first fraud. A window counts
    only defrauded cards whose fraud had not started when it opened — which is what keeps regular
    customers, seen at a place all year, from dragging the window back in time. Distinct cards in a
    window are estimated from its payments as if each were by a card drawn at random from the
    place's cards, ``n(W) = n * (1 - exp(-T(W) / n))``; the caller counts them exactly for the
    window chosen.

    >>> card = np.array([0, 1, 2, 3, 4, 5, 5])
    >>> day = np.array([40, 41, 41, 42, 43, 44, 10]) * DAY_US
    >>> first = np.sort(np.r_[np.full(6, 60), np.arange(1, 30)] * DAY_US)
    >>> w = localise_window(card, day, np.full(90, 20), 0, 900, 5000, first, 1.0, 90.0, 1.0, 3)
    >>> (w.start_us // DAY_US, w.end_us // DAY_US, w.fraud_cards)
    (40, 44, 6)
    """
    if len(ts_us) == 0:
        return None
    order = np.lexsort((ts_us, card))  # by card, then time
    card, ts_us = card[order], ts_us[order]
    starts = np.unique(ts_us)
    if len(starts) > max_endpoints:
        picks = np.quantile(starts, np.linspace(0, 1, max_endpoints)).astype(np.int64)
        starts = np.unique(starts[np.minimum(np.searchsorted(starts, picks), len(starts) - 1)])
    # next_visit[c, i]: card c's first visit at or after start i (a sentinel after every end).
    bounds = np.flatnonzero(np.r_[True, card[1:] != card[:-1], True])
    never = np.iinfo(np.int64).max
    next_visit = np.full((len(bounds) - 1, len(starts)), never, dtype=np.int64)
    for c in range(len(bounds) - 1):
        visits = ts_us[bounds[c] : bounds[c + 1]]
        at = np.searchsorted(visits, starts)
        ok = at < len(visits)
        next_visit[c, ok] = visits[at[ok]]
    next_visit.sort(axis=0)
    min_w = int(min_window_days * DAY_US)
    ends = starts
    end_grid = np.maximum(ends[None, :], starts[:, None] + min_w)  # [start, end]
    k = np.stack(
        [np.searchsorted(next_visit[:, i], end_grid[i], side="right") for i in range(len(starts))]
    )
    valid = (ends[None, :] >= starts[:, None]) & (k >= min_fraud_cards)
    if not valid.any():
        return None
    n_all = max(int(place_cards), next_visit.shape[0])
    population = max(int(population), n_all)
    eligible = len(fraud_first_us) - np.searchsorted(fraud_first_us, starts, side="right")
    good = np.minimum(
        np.maximum(np.round(np.maximum(eligible[:, None], k) * activity), k), population
    )
    cum = np.concatenate([[0], np.cumsum(day_txns.astype(np.float64))])
    n_days = len(day_txns)
    d0 = np.clip((starts - day0_us) // DAY_US, 0, n_days - 1).astype(np.int64)
    d1 = np.clip((end_grid - day0_us) // DAY_US, 0, n_days - 1).astype(np.int64)
    traffic = cum[d1 + 1] - cum[d0][:, None]
    n_w = np.clip(np.round(n_all * -np.expm1(-traffic / n_all)), k, n_all)
    days = np.maximum((end_grid - starts[:, None]) / DAY_US, min_window_days)
    psi = n_w * good / population
    stat = log_tail_fast(k, population, good, n_w) + np.log(
        np.maximum(1.0, (k - psi) * lookback_days / days)
    )
    stat = np.where(valid, stat, np.inf)
    i, j = np.unravel_index(int(np.argmin(stat)), stat.shape)
    best = (float(stat[i, j]), Window(int(starts[i]), int(end_grid[i, j]), int(k[i, j])))
    return best[1] if best else None


def expected_unseen(
    visit_us: np.ndarray,
    reported_us: np.ndarray,
    day_txns: np.ndarray,
    day0_us: int,
    start_us: int,
    end_us: int,
    as_of_us: int,
) -> float:
    """How many victims should already have been reported from the place's payments after
    ``end_us``, had the leak gone on: the victims per payment seen in ``[start_us, end_us]``
    times the payments of each later day, times the share of the victims (``visit_us``: each one's
    first visit in the window; ``reported_us``: its first report) reported within the time that
    day has had. Few (under 3) means the window's end is only where the evidence stops: frauds
    from the latest payments cannot have been reported yet, so the leak may still be going on.
    The delays are those of victims already reported, hence short: the estimate errs towards
    ending a window, and the threshold is generous for that.

    >>> day = DAY_US
    >>> visits, reports = np.array([10, 11, 12]) * day, np.array([15, 16, 17]) * day
    >>> traffic = np.full(60, 100.0)
    >>> round(expected_unseen(visits, reports, traffic, 0, 10 * day, 12 * day, 14 * day), 2)
    0.0
    >>> expected_unseen(visits, reports, traffic, 0, 10 * day, 12 * day, 40 * day) > 3
    True
    """
    if len(visit_us) == 0 or as_of_us <= end_us:
        return 0.0
    delays = np.sort((reported_us - visit_us).astype(np.float64))
    cum = np.concatenate([[0.0], np.cumsum(day_txns.astype(np.float64))])
    grid = np.arange(len(cum))

    def paid(t: float) -> float:
        return float(np.interp((t - day0_us) / DAY_US, grid, cum))

    seen = paid(end_us) - paid(start_us)
    if seen <= 0:
        return 0.0
    edges = np.linspace(end_us, as_of_us, max(2, math.ceil((as_of_us - end_us) / DAY_US * 4) + 1))
    traffic = np.diff([paid(t) for t in edges])
    mid = (edges[:-1] + edges[1:]) / 2
    share = np.searchsorted(delays, as_of_us - mid, side="right") / len(delays)
    return float(len(visit_us) / seen * np.sum(traffic * share))
