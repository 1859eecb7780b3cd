"""How fast the fraud model scores and explains: single-row latency, batch throughput.

Trains a model of realistic shape (default 40 features, 300 trees of 31 leaves) on synthetic
imbalanced data, then measures, after warm-up:

- ``score_one`` latency (median, p99) over many single-row calls — the live authorisation path —
  beside LightGBM's own ``predict`` on one row;
- batch scoring throughput (rows/s) of the compiled scorer and of LightGBM;
- ``contributions`` latency (exact TreeSHAP and path attribution) and ``reasons`` end to end,
  beside LightGBM's ``pred_contrib``.

Run: ``.venv/bin/python bench/bench_model.py`` (``--help`` for sizes). It prints the figures and
the command line that produced them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable

import lightgbm as lgb
import numpy as np

from cardwatch.model import FraudModel


def synthetic(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Imbalanced rows (≈0.5% fraud) whose odds depend on a few features, with missing values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 1] = rng.poisson(0.5, n)
    X[:, 2] = rng.exponential(30.0, n)
    X[:, 3] = rng.random(n) < 0.05
    logit = -6.5 + 1.2 * X[:, 0] + 0.8 * X[:, 1] + 0.01 * X[:, 2] + 2.5 * X[:, 3]
    logit += 0.3 * X[:, 4] * X[:, 5]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    X[rng.random((n, d)) < 0.05] = np.nan
    names = [f"feature_{i:02d}" for i in range(d)]
    return X, y, names


def per_call_ns(fn: Callable[[np.ndarray], object], rows: np.ndarray, calls: int) -> np.ndarray:
    """Nanoseconds of each of ``calls`` calls, cycling through ``rows``."""
    out = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    n = len(rows)
    for i in range(calls):
        x = rows[i % n]
        t0 = clock()
        fn(x)
        out[i] = clock() - t0
    return out


def clock_overhead_ns(calls: int) -> float:
    clock = time.perf_counter_ns
    samples = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        t0 = clock()
        samples[i] = clock() - t0
    return float(np.median(samples))


def report(label: str, ns: np.ndarray) -> None:
    med, p99 = np.median(ns) / 1e3, np.percentile(ns, 99) / 1e3
    print(f"  {label:<44} median {med:9.2f} µs   p99 {p99:9.2f} µs   ({len(ns):,} calls)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="training rows")
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=31)
    parser.add_argument("--calls", type=int, default=100_000, help="single-row score calls")
    parser.add_argument("--batch", type=int, default=200_000, help="rows in the batch test")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM training threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print("command:", shlex.join([sys.executable, *sys.argv]))
    loadavg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"cpus: {os.cpu_count()}, load average at start: {loadavg} (others slow figures)")
    print(f"python {platform.python_version()}, lightgbm {lgb.__version__}, {platform.machine()}")
    X, y, names = synthetic(args.rows, args.features, args.seed)
    t0 = time.perf_counter()
    model = FraudModel(
        n_estimators=args.trees, num_leaves=args.leaves, num_threads=args.threads, seed=args.seed
    ).fit(X, y, names)
    fit_s = time.perf_counter() - t0
    forest = model.forest_
    leaves = forest.n_leaves
    print(
        f"model: {args.features} features, {model.booster_.num_trees()} trees, {leaves:,} leaves,"
        f" max depth {forest.max_depth}; trained on {args.rows:,} rows ({y.mean():.2%} fraud)"
        f" in {fit_s:.1f} s"
    )

    rows, _, _ = synthetic(10_000, args.features, args.seed + 1)
    for x in rows[:200]:  # warm-up (numba kernels are compiled or loaded from cache)
        model.score_one(x)
        model.contributions(x)
        model.contributions(x, method="path")
    print(f"\nsingle row (perf_counter_ns overhead ≈ {clock_overhead_ns(10_000):.0f} ns per call)")
    report("FraudModel.score_one (compiled, numba)", per_call_ns(model.score_one, rows, args.calls))
    booster = model.booster_
    lgb_calls = max(1000, args.calls // 50)
    report(
        "LightGBM Booster.predict, one row",
        per_call_ns(lambda x: booster.predict(x.reshape(1, -1)), rows, lgb_calls),
    )
    report(
        "FraudModel.contributions (TreeSHAP, numba)",
        per_call_ns(model.contributions, rows, 1000),
    )
    report(
        "FraudModel.contributions(method='path')",
        per_call_ns(lambda x: model.contributions(x, method="path"), rows, args.calls // 5),
    )
    report(
        "FraudModel.reasons (TreeSHAP + wording, k=3)",
        per_call_ns(model.reasons, rows, 1000),
    )
    report(
        "FraudModel.reasons(method='path')",
        per_call_ns(lambda x: model.reasons(x, method="path"), rows, 10_000),
    )
    report(
        "LightGBM predict(pred_contrib=True), one row",
        per_call_ns(lambda x: booster.predict(x.reshape(1, -1), pred_contrib=True), rows, 300),
    )

    batch, _, _ = synthetic(args.batch, args.features, args.seed + 2)
    model.predict_proba(batch[:100])
    print(f"\nbatch of {args.batch:,} rows")
    for label, fn in [
        ("FraudModel.predict_proba (compiled, 1 thread)", lambda: model.predict_proba(batch)),
        ("LightGBM predict, 1 thread", lambda: booster.predict(batch, num_threads=1)),
        (f"LightGBM predict, {args.threads} threads", lambda: booster.predict(batch)),
    ]:
        best = min(_timed(fn) for _ in range(3))
        print(f"  {label:<44} {args.batch / best:12,.0f} rows/s")
    diff = np.abs(model.predict_proba(batch) - booster.predict(batch)).max()
    print(f"\nmax |compiled - LightGBM| probability over the batch: {diff:.2e}")


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
