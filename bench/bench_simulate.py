"""Time the ``default`` world's generation for about N transactions, and its peak memory.

The number of cards is chosen so that the default 120 days give about N transactions (0.86 per
card and day); ``--write DIR`` also times writing the Parquet files. Figures depend on the
machine and on what else runs on it: run it alone.

    .venv/bin/python bench/bench_simulate.py 10000000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cardwatch.world import WorldConfig, simulate
from cardwatch.world.portfolio import STAGES

TX_PER_CARD = 0.86 * 120


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("transactions", nargs="?", type=int, default=10_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", type=Path, default=None, help="also write Parquet files here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    cards = max(10, round(args.transactions / TX_PER_CARD))
    config = WorldConfig(seed=args.seed, cards=cards)
    marks: list[tuple[str, float]] = []
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    t0 = time.perf_counter()
    world = simulate(config, lambda stage: marks.append((stage, time.perf_counter() - t0)))
    total = time.perf_counter() - t0
    n = world.transactions.num_rows
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    cpus = len(os.sched_getaffinity(0))
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {cpus} cpus")
    print(f"cards {cards:,}, days {config.days}, transactions {n:,}, "
          f"fraud {world.truth['stats']['fraud_transactions']:,}")  # fmt: skip
    ends = [t for _, t in marks[1:]] + [total]
    for (stage, start), end in zip(marks, ends, strict=True):
        print(f"  {stage:<12} {end - start:6.1f} s")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    rate = n / total / 1e6
    print(f"generation: {total:.1f} s wall ({rate:.2f} M transactions/s), {cpu:.1f} s CPU")
    print("  (CPU = user + system time; wall well above CPU means other processes had the cores)")
    if args.write:
        from cardwatch.cli.simulate import Format, write_world

        t1 = time.perf_counter()
        write_world(world, args.write, Format.parquet)
        print(f"writing Parquet: {time.perf_counter() - t1:.1f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")
    assert len(STAGES) == len(marks)


if __name__ == "__main__":
    main()
