"""Latency of one ``Engine.decide()`` in process, on an engine warmed up from history.

Builds the same world, model and rules as ``bench_replay.py``, warms an engine up on the first
``--warm`` share of the history (the restart path: state rebuilt by replay), then decides the
next ``--decisions`` payments one at a time (each followed by its ``update``) and reports the
median and p99 of ``decide()``, and the same payments' breakdown into profile features, model
score, and rules with the final judgement. Figures depend on the machine and its load.

    .venv/bin/python bench/bench_decide.py 300000 --decisions 20000
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence

import numpy as np

from bench_replay import build
from cardwatch.engine import Engine, judge
from cardwatch.profiles import to_us
from cardwatch.schema import Transaction


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("transactions", nargs="?", type=int, default=300_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trees", type=int, default=300)
    p.add_argument("--warm", type=float, default=0.9)
    p.add_argument("--decisions", type=int, default=20_000)
    return p.parse_args(argv)


def _us(samples: list[int]) -> tuple[float, float]:
    a = np.asarray(samples, dtype=np.float64) / 1000.0
    return float(np.median(a)), float(np.percentile(a, 99))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    s = build(args.transactions, args.seed, args.trees)
    cut = int(s.history.num_rows * args.warm)
    live = s.history.slice(cut, args.decisions)
    txns = []
    for r in live.to_pylist():
        r.pop("is_fraud")
        r.pop("fraud_reported_at")
        txns.append(Transaction(**r))
    t = time.perf_counter()
    engine = Engine(s.scorer, s.rules, s.policy, cards=s.cards)
    engine.warm_up(s.history.slice(0, cut))
    warm = time.perf_counter() - t
    parts = Engine(s.scorer, s.rules, s.policy, cards=s.cards)
    parts.warm_up(s.history.slice(0, cut))
    total, feats, score, rules, non_approve = [], [], [], [], 0
    clock = time.perf_counter_ns
    gc.disable()
    for txn in txns:
        t0 = clock()
        d = engine.decide(txn)
        total.append(clock() - t0)
        engine.update(txn, d)
        non_approve += d.response_code != "00"
        # the same payment, step by step, on a twin engine
        t0 = clock()
        parts.state.advance(to_us(txn.timestamp))
        x = parts.state.features(txn)
        t1 = clock()
        xm = x if parts._cols is None else x[parts._cols]
        sc = parts.scorer.score(xm)
        t2 = clock()
        ctl = parts.controls.for_card(txn.card_id, txn.timestamp)
        flags = parts.exposure.flags(txn.card_id, txn.timestamp)
        values = parts.rule_values(txn, x, sc, ctl, flags)
        ra, _, rr = parts.rules.match(values)
        judge(
            x,
            sc,
            ra,
            rr,
            ctl,
            flags,
            txn.merchant_id,
            txn.mcc,
            txn.merchant_country,
            txn.entry_mode,
            parts.policy,
            lambda xm=xm: parts.scorer.reasons(xm, 3),
        )
        t3 = clock()
        parts.update(txn, d)
        feats.append(t1 - t0)
        score.append(t2 - t1)
        rules.append(t3 - t2)
    gc.enable()
    med, p99 = _us(total)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"history: {s.history.num_rows:,} transactions; warm-up on {cut:,} rows: {warm:.2f} s")
    print(f"model: {args.trees} trees; decisions timed: {len(txns):,} ({non_approve} not approved)")
    print(f"decide(): median {med:.1f} µs, p99 {p99:.1f} µs")
    for name, samples in (("features", feats), ("score", score), ("rules + judge", rules)):
        m, p = _us(samples)
        print(f"  {name}: median {m:.1f} µs, p99 {p:.1f} µs")


if __name__ == "__main__":
    main()
