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

__all__ = ["JointNull", "SubsetScan", "joint_p", "scan_scores", "subset_scan"]

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


@dataclass(frozen=True, slots=True)
class JointNull:
    """The null of one chain's subset scans over a family of windows and strata at once.

    The scans of overlapping windows, and of a stratum nested in another, see the same cards: a
    Bonferroni factor for each of them pays as if they were independent. Here every customer of
    the chain is defrauded or not **once**, and counted in every test where that makes it count,
    so the p-value is that of the maximum over the whole family.

    ``store`` (``[G]``), ``cards`` (``[G]``), ``visits`` (``[G, W]``): the chain's customers in
    groups, each group's cards having paid at one store in the same windows (a card that paid at
    two stores is in two groups, and is drawn in each: as in :func:`subset_scan`, stores are
    independent). ``counted`` (``[P, J]``): whether a defrauded card given profile ``i`` counts in
    test ``j`` (its first fraud after the window opened, and the card in the test's stratum).
    ``test_window`` (``[J]``): each test's window. ``rho``: the chance a customer is defrauded
    at all (then given one of the ``P`` profiles, uniformly): test ``j`` then counts a customer
    with the chance ``rho * counted[:, j].mean()``, the rate of the one-window scan.
    """

    store: np.ndarray
    cards: np.ndarray
    visits: np.ndarray
    counted: np.ndarray
    test_window: np.ndarray
    rho: float

    def rates(self) -> np.ndarray:
        """Each test's chance that one of its window's customers counts."""
        return self.rho * self.counted.mean(0)

    def customers(self, stores: int) -> np.ndarray:
        """Distinct customers of each store in each test's window (``[J, stores]``)."""
        n = np.zeros((self.visits.shape[1], stores))
        for w in range(self.visits.shape[1]):
            np.add.at(n[w], self.store[self.visits[:, w]], self.cards[self.visits[:, w]])
        return n[self.test_window]


def _single_test_bound(score: float, n: np.ndarray, rates: np.ndarray) -> float:
    """A lower bound on the joint p-value: the largest chance that one store alone, in one test,
    scores ``score``."""
    bounds = [_single_store_bound(score, n[j][n[j] > 0], float(r))
              for j, r in enumerate(rates) if r > 0 and (n[j] > 0).any()]  # fmt: skip
    return max(bounds, default=0.0)


def joint_p(
    score: float,
    b: np.ndarray,
    null: JointNull,
    draws: int = 200_000,
    screen: int = 100,
    screen_p: float = 0.05,
    enough: int = 10,
    target: float = -math.inf,
) -> tuple[float, int]:
    """Natural log of the chance that, under ``null``, some test's best subset scores at least
    ``score`` against the expectations ``b`` (``[J, stores]``), and the draws it took.

    Draws stop as in :func:`subset_scan`: ``enough`` draws as extreme, a p-value above
    ``screen_p``, none in enough draws to show an alert (``target``), or two or more and the
    estimate 30 times above ``target``. A draw is scanned only in the tests where the stores'
    own terms (the log-sum bound) reach ``score``. ``0.0`` when one store alone, in one test,
    scores as high with a chance above ``screen_p`` (no draw).

    Each draw picks the defrauded customers (a Poisson number of picks with replacement, the
    repeats dropped: every customer is then defrauded independently with the chance ``rho``),
    gives each a profile, and counts it in every test of a window its group paid in and where its
    profile counts.

    >>> visits = np.array([[True, False], [True, True], [False, True]])
    >>> null = JointNull(np.array([0, 1, 2]), np.array([100, 100, 100]), visits,
    ...                  np.ones((1, 2), bool), np.array([0, 1]), 0.01)
    >>> b = null.customers(3) * null.rates()[:, None]
    >>> log_p, done = joint_p(12.0, b, null)
    >>> log_p < math.log(1e-3), 0 < done <= 200_000
    (True, True)
    """
    b = np.asarray(b, dtype=np.float64)
    n_tests, n_stores = b.shape
    rates = null.rates()
    n = null.customers(n_stores)
    if score <= 0 or null.rho <= 0 or _single_test_bound(score, n, rates) > screen_p:
        return 0.0, 0
    total = int(null.cards.sum())
    cum = np.cumsum(null.cards)
    mu = -math.log1p(-min(null.rho, 1.0 - 1e-12))
    profiles = null.counted.shape[0]
    gv = null.visits[:, null.test_window]  # [G, J]: a group's customers are in the test's window
    btot = b.sum(1)
    log_b = np.log(np.where(b > 0, b, 1e-300))
    cap = max(1, 4_000_000 // (n_tests * n_stores))  # draws per block: counts of ~4 M cells
    rng = np.random.default_rng(SEED)
    hits, done, batch = 0, 0, screen
    while done < draws:
        want = min(batch, draws - done)
        for lo in range(0, want, cap):
            m = min(cap, want - lo)
            d = np.repeat(np.arange(m), rng.poisson(total * mu, m))
            e = rng.integers(0, total, len(d))
            i = rng.integers(0, profiles, len(d))
            _, once = np.unique(d.astype(np.int64) * total + e, return_index=True)
            d, e, i = d[once], e[once], i[once]
            g = np.searchsorted(cum, e, side="right")
            h, j = np.nonzero(gv[g] & null.counted[i])
            cells = np.bincount((d[h] * n_tests + j) * n_stores + null.store[g[h]],
                                minlength=m * n_tests * n_stores)  # fmt: skip
            nz = np.flatnonzero(cells)
            c = cells[nz].astype(np.float64)
            test = nz // n_stores
            js, ss = test % n_tests, nz % n_stores
            terms = c * (np.log(c) - log_b[js, ss]) - c
            bound = np.tile(btot, m) + np.bincount(test, terms, minlength=m * n_tests)
            maybe = np.flatnonzero(bound >= score - 1e-9)
            if len(maybe):
                rows = cells.reshape(m * n_tests, n_stores)[maybe].astype(np.float64)
                which = maybe % n_tests
                scores = np.zeros(len(maybe))
                for jv in np.unique(which):
                    sel = which == jv
                    scores[sel] = scan_scores(rows[sel], b[jv])[0]
                hits += len(np.unique(maybe[scores >= score - 1e-9] // n_tests))
            done += m
        log_p = math.log((hits + 1) / (done + 1))
        if hits >= enough or log_p > math.log(screen_p) or (hits == 0 and log_p < target - 0.5):
            break
        if hits >= 2 and math.log(hits / done) > target + math.log(30):
            break
        batch = min(4 * done, 50_000)
    return math.log((hits + 1) / (done + 1)), done
