"""How many defrauded cards visit the most popular places by chance, against what detection's
null expects (issue 5): a check of the activity adjustment in breach-free worlds.

Detection raises the null's count of defrauded cards by how much more active they were before
their fraud than an average card (``DetectConfig.activity_adjust``), linearly and never below 1:
a place visited by a share ``q`` of all cards expects ``K · max(1, r) · q`` of ``K`` defrauded
cards. At a place most cards visit that is generous — a card twice as active cannot visit it
twice. Two sharper nulls are printed beside it, against the count observed where every
defrauded card is background fraud (no breach; the world's skimmers and decoys stay):

- *saturating*: each card's payments land there independently, with the population's chance per
  payment: ``Σ_c 1 − (1 − q)^(m_c / m̄)`` (``m_c`` the card's payments before its fraud, ``m̄``
  the average card's over the look-back);
- *empirical by activity*: cards binned by their payments in the look-back; each defrauded card
  counts the share of cards of its bin (its payments before its fraud) that visited the place.

A null short of what is observed would raise false alerts; one far above it wastes evidence.
Per place, ``z = (observed − expected) / √expected`` under the empirical null shows how
over-dispersed single places are.

    .venv/bin/python bench/breach_activity_null.py --seed 0
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from breach_eval import GOAL_CARDS, Scenario, connect
from cardwatch.world import simulate


def main(argv: Sequence[str] | None = None) -> dict[str, tuple[int, float, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cards", type=int, default=GOAL_CARDS)
    parser.add_argument("--decoys", action="store_true", help="the decoy-heavy world")
    parser.add_argument("--top", type=int, default=40, help="most visited places per level")
    parser.add_argument("--lookback-days", type=float, default=120.0)
    args = parser.parse_args(argv)

    world = simulate(Scenario(seed=args.seed, share=0.0, decoys=args.decoys,
                              cards=args.cards).world_config())  # fmt: skip
    con = connect(world)
    as_of = con.execute("SELECT max(timestamp) FROM transactions").fetchall()[0][0]
    as_of -= timedelta(days=5)
    start = as_of - timedelta(days=args.lookback_days)
    con.execute(
        "CREATE TEMP TABLE h AS SELECT card_id, merchant_id, coalesce(merchant_name, '') AS name,"
        " timestamp AS ts FROM transactions WHERE timestamp > ? AND timestamp <= ?",
        [start, as_of],
    )
    con.execute(
        "CREATE TEMP TABLE f AS SELECT card_id, min(timestamp) AS first FROM transactions"
        " WHERE is_fraud = 1 AND fraud_reported_at <= ? GROUP BY card_id",
        [as_of],
    )
    cards, payments = con.execute("SELECT count(DISTINCT card_id), count(*) FROM h").fetchall()[0]
    mean_payments = payments / cards
    before = con.execute(
        "SELECT f.card_id, count(h.card_id), greatest(date_diff('second', ?, f.first) / 86400.0, 1)"
        " FROM f LEFT JOIN h ON h.card_id = f.card_id AND h.ts < f.first GROUP BY 1, 3",
        [start],
    ).fetchall()
    m = [n for _, n, _ in before]
    card_days = sum(min(d, args.lookback_days) for _, _, d in before)
    ratio = sum(m) / card_days / (payments / (cards * args.lookback_days))
    command = ["bench/breach_activity_null.py", *(sys.argv[1:] if argv is None else argv)]
    print(f"command: .venv/bin/python {shlex.join(command)}")
    print(f"breach-free world, seed {args.seed}{' with decoys' if args.decoys else ''}: "
          f"{cards:,} cards, {len(m)} defrauded, activity ratio {ratio:.2f} "
          f"(detection uses max(1, ratio))")  # fmt: skip
    edges = [5, 10, 20, 30, 45, 60, 80, 100, 130, 170, 220, 300]
    bin_of = "CASE " + " ".join(f"WHEN m < {e} THEN {i}" for i, e in enumerate(edges))
    bin_of += f" ELSE {len(edges)} END"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE bins AS SELECT card_id, {bin_of} AS bin"
        " FROM (SELECT card_id, count(*) AS m FROM h GROUP BY 1)"
    )
    bin_size = dict(con.execute("SELECT bin, count(*) FROM bins GROUP BY 1").fetchall())
    fraud_bins = [sum(1 for e in edges if mc >= e) for mc in m]
    out = {}
    for level, column in (("chain", "name"), ("store", "merchant_id")):
        top = con.execute(
            f"SELECT {column}, count(DISTINCT card_id) FROM h WHERE {column} <> ''"
            f" GROUP BY 1 ORDER BY 2 DESC LIMIT {int(args.top)}"
        ).fetchall()
        con.execute("CREATE OR REPLACE TEMP TABLE top AS SELECT unnest(?) AS place",
                    [[p for p, _ in top]])  # fmt: skip
        seen = dict(con.execute(
            f"SELECT h.{column}, count(DISTINCT h.card_id) FROM h JOIN f ON f.card_id = h.card_id"
            f" AND h.ts < f.first WHERE h.{column} IN (SELECT place FROM top) GROUP BY 1"
        ).fetchall())  # fmt: skip
        share = {(place, b): n / bin_size[b] for place, b, n in con.execute(
            f"SELECT h.{column}, bins.bin, count(DISTINCT h.card_id) FROM h JOIN bins USING"
            f" (card_id) WHERE h.{column} IN (SELECT place FROM top) GROUP BY 1, 2"
        ).fetchall()}  # fmt: skip
        totals = np.zeros(4)
        z = []
        for place, n in top:
            q = n / cards
            linear = min(len(m), len(m) * max(ratio, 1.0) * q)
            saturating = sum(1 - (1 - q) ** (mc / mean_payments) for mc in m)
            empirical = sum(share.get((place, b), 0.0) for b in fraud_bins)
            observed = seen.get(place, 0)
            totals += (observed, linear, saturating, empirical)
            z.append((observed - empirical) / max(empirical, 1.0) ** 0.5)
        observed, linear, saturating, empirical = totals
        out[level] = (int(observed), linear, saturating, empirical)
        zs = np.array(z)
        print(f"  {args.top} most visited {level}s: defrauded visitors observed {observed:,.0f}; "
              f"nulls: linear {linear:,.1f} ({linear / observed - 1:+.0%}), saturating "
              f"{saturating:,.1f} ({saturating / observed - 1:+.0%}), empirical by activity "
              f"{empirical:,.1f} ({empirical / observed - 1:+.0%}); per place under the "
              f"empirical null z > 2 at {int((zs > 2).sum())}, z > 3 at {int((zs > 3).sum())}, "
              f"largest z {zs.max():.1f}")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
