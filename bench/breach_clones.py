"""How many cards are seen paying as clones, with and without the alibi, in a simulated world
(issue 5): breach victims against honest cards, by day.

A stripe read where the card's chip never was looks the same for a clone and for a traveller at a
terminal without a chip reader; the alibi (``DetectConfig.clone_alibi_kmh``: the chip read, within
hours, too far away to have travelled) keeps the clones whose owner was at home. Counted with the
detector's own query (``queries.counterfeit_use_sql``), as of each day from the breach's start,
split by what the simulation says each card really was.

    .venv/bin/python bench/breach_clones.py --cards 30000 --seed 0
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table

from cardwatch.breach import DetectConfig
from cardwatch.breach.engine import duckdb_engine
from cardwatch.breach.queries import counterfeit_use_sql
from cardwatch.world import simulate

sys.path.insert(0, str(Path(__file__).parent))
from breach_eval import Scenario, connect

START = datetime(2025, 11, 27, tzinfo=UTC)


def kinds(world_table, cards: list[str]) -> Counter[str]:
    """Each card's fraud scenario (its first), or "honest"."""
    fraud = world_table.filter(pc.equal(world_table["is_fraud"], 1))
    first = dict(zip(fraud["card_id"].to_pylist(), fraud["scenario"].to_pylist(), strict=True))
    return Counter(first.get(c) or "honest" for c in cards)


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.02)
    parser.add_argument("--days", type=int, default=21, help="days from the breach's start")
    parser.add_argument("--every", type=int, default=2, help="days between counts")
    args = parser.parse_args(argv)
    scenario = Scenario(seed=args.seed, share=args.share, cards=args.cards, days=120)
    world = simulate(scenario.world_config())
    engine = duckdb_engine(connect(world))
    lookback = timedelta(days=DetectConfig().lookback_days)
    kmh = DetectConfig().clone_alibi_kmh
    table = Table(title=f"cards seen paying as clones ({args.cards:,} cards, seed {args.seed})")
    for col in ("as of", "breach, any", "breach, alibi", "honest, any", "honest, alibi",
                "other fraud, any", "other fraud, alibi"):  # fmt: skip
        table.add_column(col, justify="right")
    rows = []
    for d in range(0, args.days + 1, args.every):
        as_of = START + timedelta(days=d)
        counts = {}
        for name, speed in (("any", None), ("alibi", kmh)):
            sql = counterfeit_use_sql(engine, as_of - lookback, as_of, speed)
            cards = [str(c) for c in engine.query(sql).column("card_id").to_pylist()]
            by = kinds(world.transactions, cards)
            counts[name] = (
                by["breach"],
                by["honest"],
                sum(by.values()) - by["breach"] - by["honest"],
            )
        rows.append({"as_of": as_of.isoformat(), **counts})
        table.add_row(
            f"{as_of:%d %b}", *(str(counts[n][i]) for i in range(3) for n in ("any", "alibi"))
        )
    Console().print(table)
    flags = f"--seed {args.seed} --share {args.share} --days {args.days} --every {args.every}"
    print(f"command: .venv/bin/python bench/breach_clones.py --cards {args.cards} {flags}")
    return rows


if __name__ == "__main__":
    main()
