"""How well the breach response's triage puts real victims first (issue 5), against the truth of
a simulated world.

A world with a breach is simulated (``cardwatch.world``; the default world has a till breach at
a national chain), detection runs as of every day until it first alerts the breached chain, and
the response (exposure, triage, plan: the code of ``cardwatch breach respond``) is computed as of
that first alert and a few later days, each later response merged with the earlier suspect as
responding again does. Per as-of it prints: exposed cards, victims known (fraud reported by
then), victims in progress (defrauded, not yet reported), victims yet to come (cards of the
breach whose fraud starts after the as-of), per class of the plan the cards and how many of
them are victims (ever), and the ranking quality of the triage order against the victims not yet
known and against those yet to come (share found in the top 5 % and 10 %, average precision).

``--replay`` trains a model as of 30 days before the breach (labels known then) and replays
history through the engine, so that the triage sees the engine's declines, challenges and scores
— what ``cardwatch serve`` has in its store; without it the triage sees history alone, as
``cardwatch breach respond`` on imported history does.

    .venv/bin/python bench/bench_triage.py --seed 7 --replay          # the demo's world
    .venv/bin/python bench/bench_triage.py --seed 11 --replay --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.breach import detect, detect_daily
from cardwatch.breach.exposure import exposure, triage
from cardwatch.breach.response import (
    ACTIONS,
    EngineSignals,
    ResponsePolicy,
    merge_suspects,
    plan_response,
)
from cardwatch.breach.suspect import Suspect
from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.world import World, WorldConfig, simulate

DAY = timedelta(days=1)


def _is_breach(s: Suspect, truth: dict[str, Any]) -> bool:
    return truth["chain"] in (s.chain, s.merchant_id) or bool(
        set(s.merchant_ids) & set(truth["merchant_ids"])
    )


def first_alert(con: duckdb.DuckDBPyConnection, truth: dict[str, Any], end: datetime):
    start = datetime.fromisoformat(truth["window_start"])
    for day, s in detect_daily(con, start, end):
        if _is_breach(s, truth):
            return day, s
    return None, None


def other_fraud(world: World) -> dict[str, datetime]:
    """Cards defrauded by another scenario (phishing, lost cards, …): their first fraud."""
    con = duckdb.connect()
    con.register("w", world.transactions)
    rows = con.sql(
        "SELECT card_id, min(timestamp) AS first FROM w "
        "WHERE scenario NOT IN ('', 'breach') GROUP BY card_id"
    ).to_arrow_table()
    return {r["card_id"]: r["first"] for r in rows.to_pylist()}


def victims_truth(world: World) -> dict[str, tuple[datetime, datetime | None]]:
    """Each card of the breach: its first fraud and its first report."""
    con = duckdb.connect()
    con.register("w", world.transactions)
    rows = con.sql(
        "SELECT card_id, min(timestamp) AS first, min(fraud_reported_at) AS reported "
        "FROM w WHERE scenario = 'breach' GROUP BY card_id"
    ).to_arrow_table()
    return {r["card_id"]: (r["first"], r["reported"]) for r in rows.to_pylist()}


def replay_signals(world: World, truth: dict[str, Any], trees: int) -> pa.Table:
    """Train as of 30 days before the breach, replay everything: txn_id, card_id, timestamp,
    score, action."""
    from cardwatch.runtime import engine_parts, replay_workspace, train_model
    from cardwatch.store.history import History
    from cardwatch.workspace import Workspace

    home = Path(tempfile.mkdtemp(prefix="cw-triage-"))
    os.environ.setdefault("CARDWATCH_PAN_KEY", "bench-triage-key")
    os.environ.setdefault("CARDWATCH_SECRET_KEY", "bench-triage-secret")
    ws = Workspace.open(home)
    history = History(ws)
    history.append(world.transactions.select(HISTORY_SCHEMA.names))
    history.write_cards(
        world.cards.select(["card_id", "customer_id", "home_country", "home_lat", "home_lon"])
    )
    at = datetime.fromisoformat(truth["window_start"]) - 30 * DAY
    train_model(ws, None, at, at, datetime.now(UTC), n_estimators=trees)
    decisions = replay_workspace(ws, at - 31 * DAY, None, engine_parts(ws))
    facts = world.transactions.select(["txn_id", "card_id", "timestamp"])
    return decisions.select(["txn_id", "score", "action"]).join(facts, "txn_id")


def signals_at(
    decisions: pa.Table | None, cards: tuple[str, ...], start: datetime, as_of: datetime
) -> dict[str, EngineSignals]:
    """What the store of a live service would say of each exposed card (see
    ``cardwatch.respond.engine_signals``): declines and challenges in [start, as_of], the
    highest score then, and the highest in the 30 days before ``start``."""
    if decisions is None:
        return {}
    con = duckdb.connect()
    con.register("d", decisions)
    con.register("x", pa.table({"card_id": pa.array(cards, pa.string())}))
    rows = con.execute(
        """SELECT card_id,
              count(*) FILTER (WHERE timestamp >= $1 AND action IN ('decline', 'challenge'))
                  AS declines,
              coalesce(max(score) FILTER (WHERE timestamp >= $1), 0) AS after,
              max(score) FILTER (WHERE timestamp < $1) AS before
           FROM d JOIN x USING (card_id)
           WHERE timestamp <= $2 AND timestamp >= $1 - INTERVAL 30 DAY
           GROUP BY card_id""",
        [start, as_of],
    ).to_arrow_table()
    return {
        r["card_id"]: EngineSignals(int(r["declines"]), float(r["after"]), r["before"])
        for r in rows.to_pylist()
    }


def average_precision(order: list[bool]) -> float:
    hits, total = 0, 0.0
    for i, v in enumerate(order, start=1):
        if v:
            hits += 1
            total += hits / i
    return total / hits if hits else float("nan")


def top_share(order: list[bool], share: float) -> float:
    n = max(1, round(share * len(order)))
    wanted = sum(order)
    return sum(order[:n]) / wanted if wanted else float("nan")


def measure(
    plan,
    victims: dict[str, tuple[datetime, datetime | None]],
    as_of: datetime,
    others: dict[str, datetime] | None = None,
) -> dict[str, Any]:
    cards = plan.cards
    stolen = {c for c, t in (others or {}).items() if t <= as_of and c not in victims}
    known = {c for c, (_, rep) in victims.items() if rep is not None and rep <= as_of}
    started = {c for c, (first, _) in victims.items() if first <= as_of}
    exposed = {c.card_id for c in cards}
    out: dict[str, Any] = {
        "exposed": len(cards),
        "victims_known": len(known & exposed),
        "victims_in_progress": len((started - known) & exposed),
        "victims_to_come": len((set(victims) - started) & exposed),
        "victims_not_exposed": len(set(victims) - exposed),
    }
    per: dict[str, dict[str, int]] = {}
    for a in ACTIONS:
        mine = [c for c in cards if c.action == a]
        per[a] = {
            "cards": len(mine),
            "victims": sum(1 for c in mine if c.card_id in victims),
            "known": sum(1 for c in mine if c.card_id in known),
            "in_progress": sum(1 for c in mine if c.card_id in started - known),
            "other_fraud": sum(1 for c in mine if c.card_id in stolen),
        }
        per[a]["honest"] = per[a]["cards"] - per[a]["victims"] - per[a]["other_fraud"]
    out["classes"] = per
    why: dict[str, list[int]] = {}
    for c in cards:
        if c.action != "block_and_reissue":
            continue
        reason = (
            "fraud reported"
            if c.fraud_reported
            else "counterfeit pattern"
            if c.magstripe_abroad
            else "engine signals"
        )
        row = why.setdefault(reason, [0, 0, 0])
        row[0] += 1
        row[1] += c.card_id in victims
        row[2] += c.card_id not in victims and c.card_id not in stolen
    out["block_reasons"] = why
    block = per["block_and_reissue"]
    out["block_precision"] = block["victims"] / block["cards"] if block["cards"] else float("nan")
    visible = len(started & exposed)
    out["visible_victims_blocked"] = (
        (block["known"] + block["in_progress"]) / visible if visible else float("nan")
    )
    # Ranking quality: the order without the victims already known (the analysts have them).
    rest = [c for c in cards if c.card_id not in known]
    unknown = [c.card_id in victims for c in rest]
    to_come = [c.card_id in victims and c.card_id not in started for c in rest]
    for name, order in (("not_yet_known", unknown), ("to_come", to_come)):
        out[name] = {
            "top5": top_share(order, 0.05),
            "top10": top_share(order, 0.10),
            "ap": average_precision(order),
            "base_rate": sum(order) / len(order) if order else float("nan"),
        }
    waves = sorted({c.wave for c in cards}) if cards and hasattr(cards[0], "wave") else []
    out["waves"] = {
        w: (
            sum(1 for c in cards if c.wave == w),
            sum(1 for c in cards if c.wave == w and c.card_id in victims),
        )
        for w in waves
    }
    return out


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}%"


def show(as_of: datetime, m: dict[str, Any]) -> None:
    print(
        f"\nas of {as_of:%Y-%m-%d %H:%M}: {m['exposed']:,} exposed; victims known "
        f"{m['victims_known']}, in progress (defrauded, not reported) {m['victims_in_progress']}, "
        f"yet to come {m['victims_to_come']}; breach victims outside the exposure "
        f"{m['victims_not_exposed']}"
    )
    print(
        f"  {'class':<18} {'cards':>6} {'victims':>8} {'known':>6} {'in prog':>8} {'prec':>7}"
        f" {'other fraud':>12} {'honest':>7}"
    )
    for a, c in m["classes"].items():
        prec = c["victims"] / c["cards"] if c["cards"] else float("nan")
        print(
            f"  {a:<18} {c['cards']:>6} {c['victims']:>8} {c['known']:>6} "
            f"{c['in_progress']:>8} {_pct(prec):>7} {c['other_fraud']:>12} {c['honest']:>7}"
        )
    print(
        "  blocked because (cards / breach victims / honest): "
        + "; ".join(f"{k} {n}/{v}/{h}" for k, (n, v, h) in m["block_reasons"].items())
    )
    print(
        f"  block-and-reissue precision {_pct(m['block_precision'])}; visible victims "
        f"(known + in progress) blocked {_pct(m['visible_victims_blocked'])}"
    )
    for name in ("not_yet_known", "to_come"):
        r = m[name]
        print(
            f"  ranking vs victims {name.replace('_', ' ')}: top 5 % {_pct(r['top5'])}, "
            f"top 10 % {_pct(r['top10'])}, AP {r['ap']:.3f} (base rate {_pct(r['base_rate'])})"
        )
    if m["waves"]:
        print(
            "  reissue waves (cards / victims): "
            + ", ".join(f"{w}: {n}/{v}" for w, (n, v) in m["waves"].items())
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cards", type=int, default=None)
    p.add_argument("--offsets", default="0,7,14", help="days after the first alert")
    p.add_argument("--replay", action="store_true", help="engine declines and scores too")
    p.add_argument("--trees", type=int, default=150)
    p.add_argument("--set", action="append", default=[], help="ResponsePolicy field=value")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    print("$ " + shlex.join([sys.executable.split("/")[-1], *sys.argv]))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    policy = ResponsePolicy()
    kinds = {f.name: f.type for f in fields(ResponsePolicy)}
    for item in args.set:
        k, v = item.split("=", 1)
        policy = replace(policy, **{k: (int(v) if kinds[k] in ("int", int) else float(v))})
    config = (
        WorldConfig(seed=args.seed)
        if args.cards is None
        else WorldConfig(seed=args.seed, cards=args.cards)
    )
    world = simulate(config)
    truth = world.truth["breaches"][0]
    history = world.transactions.select(HISTORY_SCHEMA.names)
    con = duckdb.connect()
    con.register("transactions", history)
    end = pc.max(history.column("timestamp")).as_py()
    day, first = first_alert(con, truth, end)
    if first is None:
        print("the breach was never alerted")
        return 1
    print(
        f"world seed {args.seed}: {world.cards.num_rows:,} cards, {history.num_rows:,} payments; "
        f"breach at {truth['chain']} {truth['window_start'][:10]} .. {truth['window_end'][:10]}, "
        f"{len(truth['exposed_cards']):,} exposed, {len(truth['defrauded_cards'])} defrauded; "
        f"first alert {day:%Y-%m-%d}"
    )
    decisions = replay_signals(world, truth, args.trees) if args.replay else None
    victims = victims_truth(world)
    others = other_fraud(world)
    results = []
    suspect = first
    for off in (int(x) for x in args.offsets.split(",")):
        as_of = day + off * DAY
        if off:
            found = [s for s in detect(con, as_of) if _is_breach(s, truth)]
            if found:
                suspect = merge_suspects(suspect, found[0])
        exp = exposure(con, suspect)
        ranked = triage(con, exp, as_of)
        signals = signals_at(decisions, exp.cards, suspect.window_start, as_of)
        plan = plan_response(suspect, exp, ranked, as_of, signals=signals, policy=policy)
        m = measure(plan, victims, as_of, others)
        show(as_of, m)
        results.append({"as_of": as_of.isoformat(), "offset_days": off, **m})
    took = time.perf_counter() - started
    print(f"\n{took:.0f} s wall; load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "results": results}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
