"""Which of a chain's stores were breached: a subset scan over the chain's stores.

A breach of a few of a chain's stores hides twice. Tested one at a time, each breached store has
one or two victims — chance at any busy shop. Tested as a chain, those victims are diluted by the
customers of every store that did not leak. The breached stores are a *subset* of the chain, and
the question is whether some subset holds far more defrauded cards than its customers explain.

The score of a subset ``S`` is the expectation-based Poisson log-likelihood ratio
``F(S) = C log(C / B) + B - C`` (when ``C > B``; else 0), with ``C`` the defrauded cards counted at
its stores and ``B`` those expected from their customers. It has the *linear-time subset scanning*
property (Neill, "Fast subset scan for spatial pattern detection", JRSS-B 2012): the best subset
is one of the ``n`` sets made of the stores with the highest ratio ``c_s / b_s``, so a chain of
``n`` stores costs ``n`` scores rather than ``2^n``. The maximum over subsets is far from a
Poisson tail — a store expecting 0.05 defrauded cards that has two scores as high as a whole
breach — so the p-value comes from the maximum's own null distribution, drawn by Monte Carlo:
every store's count drawn from its binomial (``n_s`` customers, each defrauded with the chance any
card is), the same scan run on every draw. The draws use a fixed seed, so a run is reproducible
and the DuckDB and Spark engines give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

__all__ = ["SubsetScan", "scan_scores", "subset_scan"]

#: Seed of the null draws: fixed, so that the same counts give the same p-value on every engine.
SEED = 20_130_127


@dataclass(frozen=True, slots=True)
class SubsetScan:
    """The best subset of a chain's stores: which stores (indices into the caller's arrays), its
    score, the defrauded cards counted and expected there, and the natural log of its p-value
    (the share of null draws scoring at least as high, never below ``1 / (draws + 1)``)."""

    stores: np.ndarray
    score: float
    fraud_cards: float
    expected: float
    log_p: float


def _llr(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Poisson log-likelihood ratio of ``c`` counted against ``b`` expected, for excess only."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(np.where(c > 0, c, 1.0) / np.where(b > 0, b, 1e-300))
        return np.where(c > b, c * ratio + b - c, 0.0)


def _llr_terms(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``c log(c / b) - c + b`` (``b`` when ``c`` is 0): never negative."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(c > 0, c, 1.0) / np.where(b > 0, b, 1e-300))
        return np.where(c > 0, c * logs, 0.0) - c + b


def scan_scores(k: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best subset's score for each row of counts ``k`` (``[..., n]``) against expectations
    ``b`` (``[n]``), by the linear-time property; also how many stores it has and their order.

    >>> score, size, order = scan_scores(np.array([4.0, 0.0, 1.0, 0.0]), np.array([1.0] * 4))
    >>> round(float(score), 3), int(size), order[: int(size)].tolist()
    (2.545, 1, [0])
    """
    k = np.asarray(k, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), k.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # a store nobody visited: 0 / 0, last
        order = np.argsort(-k / b, axis=-1, kind="stable")
    c = np.cumsum(np.take_along_axis(k, order, -1), -1)
    e = np.cumsum(np.take_along_axis(b, order, -1), -1)
    scores = _llr(c, e)
    best = scores.argmax(-1)
    return scores.max(-1), best + 1, order


def _single_store_bound(score: float, n: np.ndarray, p: float) -> float:
    """A lower bound on the scan's p-value, in closed form: the chance that some single store
    alone scores ``score`` (every store is a subset). Most chains are settled by it without a
    draw."""
    b = n * p
    grid = np.arange(0, int(max(n.max(), 1)) + 1, dtype=np.float64)[None, :256]
    reach = _llr(np.broadcast_to(grid, (len(n), grid.shape[1])), b[:, None]) >= score
    found = reach.any(1)
    tail = np.where(found, binom.sf(np.where(found, reach.argmax(1), 0) - 1, n, p), 0.0)
    return float(1.0 - np.prod(1.0 - tail))


def subset_scan(
    k: np.ndarray,
    n: np.ndarray,
    p: float,
    draws: int = 200_000,
    screen: int = 100,
    screen_p: float = 0.05,
    enough: int = 10,
    target: float = -math.inf,
) -> SubsetScan | None:
    """The most anomalous subset of a chain's stores and its Monte-Carlo p-value.

    ``k``: defrauded cards that paid at each store in the window; ``n``: distinct cards that paid
    there; ``p``: the chance any card is defrauded under the null (activity-weighted). A first
    ``screen`` draws settle the many chains that are nowhere near an alert (p-value above
    ``screen_p``); only the others get all ``draws``, which is what a p-value small enough to
    survive the other corrections needs. Drawing stops once ``enough`` draws have scored as high
    (the p-value is then known to about a third, and far above any alert), or once no draw has
    and the p-value's bound ``1 / (draws + 1)`` is below ``exp(target)``, the log p-value the
    caller needs for an alert, by a factor 1.65: more draws would only tell how much stronger the
    evidence is, at a cost proportional to it; or once two or more have and the estimate is 30
    times what an alert needs. ``None`` when no subset has an excess, or when the
    chance that one store alone scores as high already exceeds ``screen_p``.

    >>> n = np.full(40, 200)
    >>> k = np.zeros(40); k[:8] = 3                    # 8 stores with 3 victims each, 0.4 expected
    >>> s = subset_scan(k, n, 0.002)
    >>> sorted(s.stores.tolist()), s.log_p < math.log(1e-3)
    ([0, 1, 2, 3, 4, 5, 6, 7], True)
    >>> quiet = np.random.default_rng(1).binomial(n, 0.002).astype(float)
    >>> s = subset_scan(quiet, n, 0.002)
    >>> s is None or s.log_p > math.log(0.05)
    True
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    keep = n > 0
    if not keep.any() or p <= 0:
        return None
    n = np.maximum(n, k)
    b = n * min(p, 1.0)
    score, size, order = scan_scores(k[keep], b[keep])
    stores = np.flatnonzero(keep)[order[: int(size)]]
    fraud, expected = float(k[stores].sum()), float(b[stores].sum())
    if score <= 0 or _single_store_bound(score, counts := n[keep], p) > screen_p:
        return None
    rng = np.random.default_rng(SEED)
    counts = counts.astype(np.int64)
    # Each store's own term of the log-sum inequality bounds what it adds to any subset's score
    # (c log(c / b) - c + b >= 0, and F(S) <= the sum over S): a draw whose terms sum below the
    # observed score cannot reach it, and is not scanned.
    top = int(counts.max()) + 1
    table = _llr_terms(np.arange(top, dtype=np.float64)[None, :], b[keep][:, None])
    cols = np.arange(len(counts))
    hits, done, batch = 0, 0, screen
    while done < draws:
        sim = rng.binomial(counts, min(p, 1.0), size=(min(batch, draws - done), len(counts)))
        bound = table[cols, sim].sum(1)
        maybe = sim[bound >= score - 1e-9]
        if len(maybe):
            hits += int(np.count_nonzero(scan_scores(maybe, b[keep])[0] >= score - 1e-9))
        done += sim.shape[0]
        log_p = math.log((hits + 1) / (done + 1))
        if hits >= enough or log_p > math.log(screen_p) or (hits == 0 and log_p < target - 0.5):
            break
        if hits >= 2 and math.log(hits / done) > target + math.log(30):
            break  # far above what an alert needs: its exact size changes no answer
        batch = min(4 * done, 50_000)
    return SubsetScan(stores, float(score), fraud, expected, math.log((hits + 1) / (done + 1)))
