"""Replay speed: transactions per second through profiles, model and rules, exactly as live.

Simulates the ``default`` world (about N transactions), trains a FraudModel on the features of
its first half (labels known at the cut), compiles the default rule set, then times
``replay_into`` over the whole history: the profile kernel, batch scoring, vectorised rules and
the declines fixpoint. Figures depend on the machine and what else runs on it.

    .venv/bin/python bench/bench_replay.py 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.engine import Engine, ModelScorer, Policy
from cardwatch.model import FraudModel
from cardwatch.profiles import FEATURE_NAMES, ProfileState, from_us
from cardwatch.replay import feature_frame, replay_into
from cardwatch.rules import compile_ruleset, default_ruleset
from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.world import WorldConfig, simulate

TX_PER_CARD = 0.86 * 120


@dataclass
class Setup:
    history: pa.Table
    cards: pa.Table
    scorer: ModelScorer
    rules: object
    policy: Policy
    seconds: dict[str, float]


def build(transactions: int, seed: int, trees: int) -> Setup:
    """World, model and rules for a benchmark of about ``transactions`` rows."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    world = simulate(WorldConfig(seed=seed, cards=max(10, round(transactions / TX_PER_CARD))))
    history = world.transactions.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA)
    seconds["simulate"] = time.perf_counter() - t
    t = time.perf_counter()
    half = history.slice(0, history.num_rows // 2)
    as_of = from_us(int(pc.max(half.column("timestamp").cast(pa.int64())).as_py()))
    frame = feature_frame(half, world.cards, as_of=as_of)
    X = np.column_stack([np.asarray(frame.column(n), dtype=np.float64) for n in FEATURE_NAMES])
    y = np.asarray(frame.column("is_fraud"), dtype=np.int64)
    model = FraudModel(n_estimators=trees, seed=seed).fit(X, y, list(FEATURE_NAMES))
    seconds["train"] = time.perf_counter() - t
    rules = compile_ruleset(default_ruleset())
    policy = Policy.from_thresholds(model.thresholds_)
    return Setup(history, world.cards, ModelScorer(model), rules, policy, seconds)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("transactions", nargs="?", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trees", type=int, default=300, help="trees in the benchmark's model")
    p.add_argument("--repeat", type=int, default=3, help="timed replays (best is kept)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    s = build(args.transactions, args.seed, args.trees)
    n = s.history.num_rows
    replay_into(Engine(s.scorer, s.rules, s.policy, cards=s.cards), s.history.slice(0, 1000))
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        t = time.perf_counter()
        ProfileState(s.cards).run(s.history)
        profiles = time.perf_counter() - t
        engine = Engine(s.scorer, s.rules, s.policy, cards=s.cards)
        t, c = time.perf_counter(), time.process_time()
        result = replay_into(engine, s.history)
        total, cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        s.scorer.score_batch(result.features)
        scoring, scoring_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        feature_frame(s.history, s.cards)
        frame, frame_cpu = time.perf_counter() - t, time.process_time() - c
        if not best or total < best["total"]:
            best = {
                "total": total,
                "cpu": cpu,
                "profiles": profiles,
                "scoring": scoring,
                "scoring_cpu": scoring_cpu,
                "frame": frame,
                "frame_cpu": frame_cpu,
            }
            passes = result.passes
            actions = result.decisions.column("action").value_counts().to_pylist()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"setup: simulate {s.seconds['simulate']:.1f} s, train {s.seconds['train']:.1f} s "
        f"({args.trees} trees)"
    )
    print(f"transactions: {n:,}; fixpoint passes: {passes}")
    counts = ", ".join(f"{a['values']} {a['counts']:,}" for a in actions)
    print(f"decisions: {counts}")
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"replay (features + model + rules + decisions): {best['total']:.2f} s "
        f"= {n / best['total']:,.0f} transactions/s (CPU {best['cpu']:.2f} s, all threads)"
    )
    print(
        f"  profiles alone (encode + kernel): {best['profiles']:.2f} s "
        f"= {n / best['profiles']:,.0f}/s"
    )
    print(
        f"  one scoring pass: {best['scoring']:.2f} s = {n / best['scoring']:,.0f}/s "
        f"(CPU {best['scoring_cpu']:.2f} s)"
    )
    print(
        f"feature_frame (training rows, no model): {best['frame']:.2f} s "
        f"= {n / best['frame']:,.0f}/s (CPU {best['frame_cpu']:.2f} s)"
    )


if __name__ == "__main__":
    main()
