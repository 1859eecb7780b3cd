"""How well, and how early, compromise detection finds breaches in simulated worlds (issue 5).

Sweeps seeds × breach size (stores of the chain) × share of exposed cards defrauded × delay
before the first fraud × decoys (extra skimmers, decoy breaches of other chains and three times
the background phishing). In each world ``survey_daily`` runs as of every day from the breach's
start to the end of history, as an issuer would have run it, and every alert is scored against
the world's truth: it is correct when it names a compromised chain, a compromised store or a
skimmed shop, and false otherwise. Recall is the share of worlds whose main breach was alerted;
precision the share of alerts that were correct; lead times run from the breach's start and from
its first fraud report to its first correct alert.

    .venv/bin/python bench/breach_eval.py                 # the default sweep (~5-10 min)
    .venv/bin/python bench/breach_eval.py --quick         # a tiny sweep (seconds)
    .venv/bin/python bench/breach_eval.py --plots docs/img

Goals (issue 5): precision and recall of at least 90 % when at most 2 % of the exposed cards
have been defrauded; an alert within 2 days of the first fraud reports in the 2013-like scenario.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shlex
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.breach import DetectConfig, Suspect, survey_daily
from cardwatch.world import BreachConfig, FraudConfig, World, WorldConfig, simulate

__all__ = ["Outcome", "Scenario", "evaluate", "main", "matches", "summarise", "sweep"]

DAY = timedelta(days=1)
#: Portfolio of the goal-size worlds: 2 % of a whole-chain breach is then ~200 victims, 0.5 % ~50.
GOAL_CARDS = 30_000
#: Portfolio of the small "limits" worlds (the first evaluation's size).
LIMIT_CARDS = 5_000


def quarter_of_chain(cards: int) -> int:
    """A quarter of the breached chain's stores (Grand Bazar: 24 stores per 10,000 cards, and at
    least one in each of the 24 French cities), so that a partial breach exposes about the same
    share of the portfolio at any size: the first evaluation's 6 stores at 5,000 cards.

    >>> quarter_of_chain(5_000), quarter_of_chain(30_000)
    (6, 18)
    """
    return max(24, round(24 * cards / 10_000)) // 4


@dataclass(frozen=True)
class Scenario:
    """One simulated world: the knobs swept, everything else at the ``default`` preset."""

    seed: int = 0
    share: float = 0.02
    stores: int | None = None  # None: every store of the chain
    delay_days: float = 4.0
    decoys: bool = False
    cards: int = GOAL_CARDS
    days: int = 100
    quarter: bool = False  # a quarter of the chain's stores (scales with the portfolio)

    def world_config(self) -> WorldConfig:
        stores = quarter_of_chain(self.cards) if self.quarter else self.stores
        breach = BreachConfig(stores=stores, share_defrauded=self.share,
                              delay_days=self.delay_days)  # fmt: skip
        fraud = (
            FraudConfig(decoys=2, skimmers=2, phishing_rate=0.009) if self.decoys else FraudConfig()
        )
        return WorldConfig(seed=self.seed, cards=self.cards, days=self.days, breach=breach,
                           fraud=fraud)  # fmt: skip

    @property
    def group(self) -> tuple[int, float, str, float, bool]:
        """What the table aggregates over seeds by."""
        return (self.cards, self.share, self.size, self.delay_days, self.decoys)

    @property
    def size(self) -> str:
        if self.quarter:
            return f"1/4 ({quarter_of_chain(self.cards)})"
        return "all" if self.stores is None else str(self.stores)


@dataclass
class Outcome:
    """What detection did in one world."""

    scenario: Scenario
    exposed: int
    defrauded: int
    reported: int
    alerts: list[tuple[datetime, str, int | None]] = field(default_factory=list)
    found_at: datetime | None = None
    #: The first run that held the main breach beside another place, not yet told apart.
    held_at: datetime | None = None
    breach_start: datetime | None = None
    first_report: datetime | None = None
    window: tuple[datetime, datetime] | None = None
    true_window: tuple[datetime, datetime] | None = None
    report_times: list[datetime] = field(default_factory=list)
    others: int = 0
    others_found: int = 0
    seconds: float = 0.0

    @property
    def correct(self) -> int:
        return sum(1 for _, _, c in self.alerts if c is not None)

    @property
    def false(self) -> int:
        return sum(1 for _, _, c in self.alerts if c is None)

    @property
    def reports_at_alert(self) -> int | None:
        """Victims of the main breach reported when it was first alerted."""
        if self.found_at is None:
            return None
        return sum(1 for t in self.report_times if t <= self.found_at)

    @property
    def lead_from_start(self) -> float | None:
        return _days(self.found_at, self.breach_start)

    @property
    def lead_from_report(self) -> float | None:
        return _days(self.found_at, self.first_report)

    @property
    def named_from_report(self) -> float | None:
        """Days from the first report to the first run naming the main breach: alerted, or held
        beside another place as not yet told apart (what an analyst would have seen)."""
        named = [t for t in (self.found_at, self.held_at) if t is not None]
        return _days(min(named), self.first_report) if named else None


def _days(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (a - b) / DAY


def _time(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def _report_times(world: World, victims: list[str]) -> list[datetime]:
    """When each of the main breach's victims was reported, sorted."""
    tx = world.transactions
    rows = tx.filter(pc.and_(pc.equal(tx["scenario"], "breach"),
                             pc.is_in(tx["card_id"], pa.array(victims, pa.string()))))  # fmt: skip
    first = rows.group_by("card_id").aggregate([("fraud_reported_at", "min")])
    return sorted(pc.drop_null(first["fraud_reported_at_min"]).to_pylist())


def matches(suspect: Suspect, compromises: Sequence[dict[str, Any]]) -> int | None:
    """Index of the compromise an alert names (its chain, one of its compromised stores, or the
    skimmed shop), or ``None`` for a false alert.

    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> s = Suspect("Grand Bazar", "chain", "Grand Bazar", ("M1",), (), t, t, 9.0, 1e-9, 9, 90,
    ...             1.0, t, 1.0, 10)
    >>> matches(s, [{"chain": "", "merchant_ids": ["M7"]}, {"chain": "Grand Bazar",
    ...                                                      "merchant_ids": ["M1"]}])
    1
    """
    for i, comp in enumerate(compromises):
        if suspect.level == "chain" and comp["chain"] and suspect.merchant_id == comp["chain"]:
            return i
        if suspect.level == "store" and suspect.merchant_id in comp["merchant_ids"]:
            return i
    return None


def connect(world: World) -> duckdb.DuckDBPyConnection:
    """The world's history in a DuckDB table, as the workspace would hold it (the labels only:
    the ``scenario`` column is the truth and stays out of the detector's sight)."""
    con = duckdb.connect()
    history = world.transactions.drop_columns(["scenario"])
    con.register("history_arrow", history)
    con.execute("CREATE TABLE transactions AS SELECT * FROM history_arrow ORDER BY timestamp")
    con.unregister("history_arrow")
    return con


def evaluate(
    scenario: Scenario, config: DetectConfig, horizon_days: int | None = None,
    stop_when_found: bool = False, step: timedelta = DAY,
) -> Outcome:  # fmt: skip
    """Simulate the scenario's world and run detection over it from the breach's start, once a
    day (or every ``step``, as ``serve --detect-every`` runs it)."""
    world = simulate(scenario.world_config())
    truth = world.truth
    compromises = [*truth["breaches"], *truth["skimmers"]]
    main = truth["breaches"][0]
    start = _time(main["window_start"])
    assert start is not None
    period = truth["period"]
    end = datetime.fromisoformat(period["start"]).replace(tzinfo=start.tzinfo) + timedelta(
        days=period["days"]
    )
    if horizon_days is not None:
        end = min(end, start + timedelta(days=horizon_days))
    out = Outcome(
        scenario, len(main["exposed_cards"]), len(main["defrauded_cards"]),
        len(main["reported_cards"]), breach_start=start,
        first_report=_time(main["first_report_at"]),
        true_window=(start, _time(main["window_end"]) or start),
        report_times=_report_times(world, main["defrauded_cards"]),
    )  # fmt: skip
    con = connect(world)
    found: set[int] = set()
    t0 = time.perf_counter()
    seen: set[str] = set()
    for day, run in survey_daily(con, start, end, config, step):
        if (
            out.held_at is None
            and out.found_at is None
            and any(matches(s, compromises) == 0 for h in run.held for s in (h.place, h.rival))
        ):
            out.held_at = day
        for suspect in run.suspects:
            if suspect.key in seen:
                continue
            seen.add(suspect.key)
            hit = matches(suspect, compromises)
            out.alerts.append((day, suspect.key, hit))
            if hit is not None:
                found.add(hit)
            if hit == 0 and out.found_at is None:
                out.found_at = day
                out.window = (suspect.window_start, suspect.window_end)
        if stop_when_found and out.found_at is not None:
            break
    out.seconds = time.perf_counter() - t0
    # Other compromises count when they could have been seen: started before the last run.
    seen = [i for i, c in enumerate(compromises) if i and _time(c["window_start"]) < end
            and c["reported_cards"]]  # fmt: skip
    out.others, out.others_found = len(seen), len(found & set(seen))
    return out


def scenarios(quick: bool, seeds: int, cards: int = GOAL_CARDS, limits: bool = False,
              goal: bool = True) -> list[Scenario]:  # fmt: skip
    """The sweep at ``cards`` cards: every share × size (whole chain, a quarter of its stores)
    for ``seeds`` seeds, then a longer delay and decoys at 2 %, and breach-free worlds (plain and
    with decoys). ``limits`` adds the small worlds (5,000 cards, one seed) where ≤ 2 % means a
    handful of victims."""
    if quick:
        return [
            Scenario(seed=0, share=0.05, cards=1500, days=80),
            Scenario(seed=1, share=0.02, stores=6, decoys=True, cards=1500, days=80),
        ]
    grid: list[Scenario] = []
    if goal:
        grid += [
            Scenario(seed=s, share=sh, quarter=q, cards=cards)
            for q in (False, True)
            for sh in (0.005, 0.01, 0.02, 0.05)
            for s in range(seeds)
        ]
        grid += [Scenario(seed=s, share=0.02, delay_days=10.0, cards=cards) for s in range(seeds)]
        grid += [Scenario(seed=s, share=0.02, decoys=True, cards=cards) for s in range(seeds)]
        # Breach-free worlds (nobody defrauded at the chain), plain and with decoys.
        grid += [Scenario(seed=s, share=0.0, decoys=d, cards=cards)
                 for d in (False, True) for s in range(seeds)]  # fmt: skip
    if limits:
        grid += [
            Scenario(seed=0, share=sh, quarter=q, cards=LIMIT_CARDS)
            for q in (False, True)
            for sh in (0.005, 0.01, 0.02, 0.05)
        ]
        grid += [Scenario(seed=0, share=0.0, decoys=True, cards=LIMIT_CARDS)]
    return grid


def sweep(items: Iterable[Scenario], config: DetectConfig, progress: bool = True,
          horizon_days: int | None = None) -> list[Outcome]:  # fmt: skip
    out = []
    for sc in items:
        o = evaluate(sc, config, horizon_days)
        if progress:
            _progress(o)
        out.append(o)
    return out


def _progress(o: Outcome) -> None:
    false = [f"{d:%m-%d} {key}" for d, key, hit in o.alerts if hit is None]
    print(f"  {o.scenario} -> alerts {o.correct}+{o.false} found {o.found_at} "
          f"({o.seconds:.0f}s){' false: ' + ', '.join(false) if false else ''}",
          file=sys.stderr, flush=True)  # fmt: skip


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """One row per group of worlds (all seeds of one setting)."""
    groups: dict[tuple, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.scenario.group, []).append(o)
    rows = []
    for (cards, share, size, delay, decoys), os_ in groups.items():
        alerts = sum(o.correct + o.false for o in os_)
        found = [o for o in os_ if o.found_at is not None]
        starts = [o.window[0] - o.true_window[0] for o in found if o.window and o.true_window]
        rows.append({
            "cards": cards, "share": share, "stores": size, "delay": delay, "decoys": decoys,
            "worlds": len(os_),
            "exposed": statistics.mean(o.exposed for o in os_),
            "defrauded": statistics.mean(o.defrauded for o in os_),
            "reported": statistics.mean(o.reported for o in os_),
            "recall": len(found) / len(os_),
            "precision": (sum(o.correct for o in os_) / alerts) if alerts else math.nan,
            "false": sum(o.false for o in os_),
            "others": f"{sum(o.others_found for o in os_)}/{sum(o.others for o in os_)}",
            "from_start": _median([x for o in found if (x := o.lead_from_start) is not None]),
            "from_report": _median([x for o in found if (x := o.lead_from_report) is not None]),
            "reports_at_alert": _median(
                [float(x) for o in found if (x := o.reports_at_alert) is not None]
            ),
            "window_err": _median([abs(d / DAY) for d in starts]),
        })  # fmt: skip
    return rows


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if pct:
        return f"{100 * v:.0f}%"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def print_table(rows: Sequence[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    heads = ["cards", "defrauded share", "stores", "delay d", "decoys", "worlds", "exposed",
             "defrauded", "reported", "recall", "precision", "false alerts", "others found",
             "days from start", "days from 1st report", "reports at alert",
             "window start err d"]  # fmt: skip
    for h in heads:
        table.add_column(h, justify="right")
    for r in rows:
        table.add_row(
            f"{r['cards']:,}", f"{100 * r['share']:g}%", r["stores"], _fmt(r["delay"]),
            "yes" if r["decoys"] else "no",
            str(r["worlds"]), f"{r['exposed']:.0f}", f"{r['defrauded']:.1f}",
            f"{r['reported']:.1f}", _fmt(r["recall"], True), _fmt(r["precision"], True),
            str(r["false"]), r["others"], _fmt(r["from_start"]), _fmt(r["from_report"]),
            _fmt(r["reports_at_alert"]), _fmt(r["window_err"]),
        )  # fmt: skip
    Console(width=200).print(table)


def goals(outcomes: Sequence[Outcome], cards: int | None = None) -> dict[str, float]:
    """The issue's goals over the worlds with at most 2 % defrauded (of ``cards`` cards when
    given), and the false alerts of the breach-free worlds."""
    mine = [o for o in outcomes if cards is None or o.scenario.cards == cards]
    low = [o for o in mine if 0 < o.scenario.share <= 0.02]
    null = [o for o in mine if o.scenario.share == 0]
    alerts = sum(o.correct + o.false for o in low)
    return {
        "worlds": len(low),
        "recall": sum(o.found_at is not None for o in low) / max(len(low), 1),
        "precision": sum(o.correct for o in low) / alerts if alerts else math.nan,
        "null_worlds": len(null),
        "null_false": sum(o.false for o in null),
        "false": sum(o.false for o in mine),
    }


def recall_plot(outcomes: Sequence[Outcome], path: Path) -> None:
    """Recall and precision against the share of exposed cards defrauded, one line per portfolio
    size and breach size (normal delay, no decoys)."""
    plot_rows(summarise(outcomes), path)


def plot_rows(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """:func:`recall_plot` from the rows of :func:`summarise` (as ``--json`` saves them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    base = [r for r in rows if r["delay"] == 4.0 and not r["decoys"] and r["share"] > 0]
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    sizes = sorted({r["cards"] for r in base}, reverse=True)
    colours = dict(zip(sizes, ("tab:blue", "tab:orange", "tab:green"), strict=False))
    for c, cards in enumerate(sizes):
        for quarter, style in ((False, "-"), (True, "--")):
            mine = [r for r in base if r["cards"] == cards and (r["stores"] != "all") == quarter]
            mine.sort(key=lambda r: r["share"])
            if not mine:
                continue
            shift = 1.0 + 0.04 * (2 * c + quarter)  # side by side, not on top of each other
            x = [100 * r["share"] * shift for r in mine]
            label = f"{cards:,} cards, {'a quarter of the stores' if quarter else 'whole chain'}"
            ax.plot(x, [100 * r["recall"] for r in mine], style, marker="o" if quarter else "D",
                    color=colours.get(cards), label=f"recall, {label}")  # fmt: skip
            ax.plot(x, [100 * r["precision"] for r in mine], ":", marker="s", alpha=0.35,
                    color=colours.get(cards), label=f"precision, {label}")  # fmt: skip
    ax.axhline(90, color="grey", lw=0.8, ls=":")
    ax.axvline(2.1, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xticks([0.5, 1, 2, 5], ["0.5", "1", "2", "5"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("% of exposed cards defrauded (points of a group side by side)")
    ax.set_ylabel("%")
    ax.set_ylim(-3, 103)
    ax.set_title("Breach detection over simulated worlds (daily runs, 40 days)")
    ax.legend(fontsize=7, loc="center right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def timeline_plot(outcome: Outcome, path: Path) -> None:
    """The 2013-like world: the exposure window, breach frauds and reports per day, the alert."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    world = simulate(outcome.scenario.world_config())
    main_ = world.truth["breaches"][0]
    victims = pa.array(main_["defrauded_cards"])
    tx = world.transactions
    breach = tx.filter(pc.and_(pc.equal(tx["scenario"], "breach"),
                               pc.is_in(tx["card_id"], victims)))  # fmt: skip
    t0 = outcome.breach_start
    assert t0 is not None
    first = breach.group_by("card_id").aggregate([("timestamp", "min"),
                                                  ("fraud_reported_at", "min")])  # fmt: skip

    def per_day(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        ts = pc.drop_null(col).to_pylist()
        days = np.array([(t - t0) / DAY for t in ts])
        bins = np.arange(-5, 61)
        counts, _ = np.histogram(days, bins)
        return bins[:-1], counts

    fig, ax = plt.subplots(figsize=(9, 4))
    end = (outcome.true_window[1] - t0) / DAY if outcome.true_window else 19
    ax.axvspan(0, end, color="tab:red", alpha=0.08, label="tills compromised")
    x, frauds = per_day(first["timestamp_min"])
    ax.bar(x, frauds, width=0.45, align="edge", color="tab:orange", label="cards' first fraud")
    x, reports = per_day(first["fraud_reported_at_min"])
    ax.bar(x + 0.45, reports, width=0.45, align="edge", color="tab:blue", label="cards reported")
    if outcome.first_report is not None:
        ax.axvline((outcome.first_report - t0) / DAY, color="tab:blue", ls=":", lw=1,
                   label="first report")  # fmt: skip
    if outcome.found_at is not None:
        d = (outcome.found_at - t0) / DAY
        ax.axvline(d, color="black", lw=1.5, label=f"first alert (day {d:.0f})")
    if outcome.window is not None:
        w0, w1 = ((w - t0) / DAY for w in outcome.window)
        ax.hlines(-0.6, w0, w1, color="black", lw=4, label="window reported")
    ax.set_xlim(-5, 60)
    ax.set_xlabel(f"days from the start of the breach ({t0:%Y-%m-%d})")
    ax.set_ylabel("cards per day")
    ax.set_title(f"2013-like breach, {outcome.scenario.cards:,} cards: "
                 f"{outcome.exposed} exposed, {outcome.defrauded} defrauded")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _config(knobs: Sequence[str]) -> DetectConfig:
    """``DetectConfig`` with ``name=value`` overrides (booleans as true/false).

    >>> _config(["explain_away=false", "alpha=0.05"]).alpha
    0.05
    >>> _config(["recent_days=()"]).recent_days, _config(["recent_days=7,14"]).recent_days
    ((), (7.0, 14.0))
    """
    base = DetectConfig()
    values: dict[str, Any] = {}
    for knob in knobs:
        name, _, text = knob.partition("=")
        kind = type(getattr(base, name))
        if kind is bool:
            values[name] = text.lower() in ("1", "true", "yes")
        elif kind is tuple:  # comma-separated numbers; "" or "()" for none
            values[name] = tuple(float(x) for x in text.strip("()").split(",") if x.strip())
        else:
            values[name] = kind(text)
    return replace(base, **values)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="two tiny worlds (for the tests)")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--cards", type=int, default=GOAL_CARDS, help="portfolio of the goal worlds")
    p.add_argument("--limits", action="store_true", help="also the 5,000-card worlds")
    p.add_argument("--no-goal", action="store_true", help="skip the goal-size worlds")
    p.add_argument("--plots", type=Path, default=None, help="write breach_*.png here")
    p.add_argument("--horizon", type=int, default=40, help="days of daily runs per world")
    p.add_argument("--timeline-cards", type=int, default=GOAL_CARDS)
    p.add_argument(
        "--timeline-every",
        type=float,
        default=24.0,
        help="hours between detection runs in the 2013-like worlds (serve --detect-every)",
    )
    p.add_argument("--timeline-seeds", type=int, default=1,
                   help="2013-like worlds per share (seeds 0, 1, …)")  # fmt: skip
    p.add_argument(
        "--timeline-shares",
        default="0.02,0.05",
        help="defrauded shares of the 2013-like worlds (the first is plotted)",
    )
    p.add_argument("--jobs", type=int, default=1, help="worlds evaluated in parallel")
    p.add_argument("--json", type=Path, default=None, help="write the rows and timelines here")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="a DetectConfig field, e.g. --set explain_away=false",
    )
    p.add_argument("--no-timeline", action="store_true")
    p.add_argument("--only", action="append", default=[], metavar="FILTER",
                   help="only worlds matching every filter: share=0.01, quarter=true, seed=0,1, "
                        "decoys=false (to iterate on a few worlds)")  # fmt: skip
    p.add_argument("--replot", type=Path, default=None,
                   help="only redraw breach_recall.png (--plots) from a --json file")  # fmt: skip
    return p.parse_args(argv)


def select(items: Sequence[Scenario], filters: Sequence[str]) -> list[Scenario]:
    """The scenarios whose fields match every ``name=value`` filter (``--only``); a filter's
    comma-separated values are alternatives (``share=0,0.005``), so one pool of workers runs a
    whole slice of the sweep.

    >>> grid = scenarios(False, 2)
    >>> len(select(grid, ["quarter=true", "share=0.01"])), len(grid)
    (2, 24)
    >>> len(select(grid, ["seed=1", "share=0.0,0.005"]))
    4
    """
    out = list(items)
    for f in filters:
        name, _, text = f.partition("=")
        wanted = {_filter_value(name, t) for t in text.split(",")}
        out = [sc for sc in out if getattr(sc, name) in wanted]
    return out


def _filter_value(name: str, text: str) -> Any:
    """``text`` read as the type of the scenario field ``name``."""
    default = getattr(Scenario(), name)
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes")
    if default is None:
        return None if text in ("", "none", "None") else int(text)
    return type(default)(text)


def thirteen(share: float, cards: int, seed: int = 0) -> Scenario:
    """The 2013-like scenario: every store of the chain leaks for 19 days from 27 November
    (the default world's breach), frauds start 4 days after the breach, ``share`` of the exposed
    cards are defrauded, in a portfolio of ``cards`` cards over 120 days."""
    return Scenario(seed=seed, share=share, delay_days=4.0, cards=cards, days=120)


def _evaluate_one(args: tuple[Scenario, DetectConfig, int | None, bool]) -> Outcome:
    return evaluate(*args)


def sweep_parallel(items: Sequence[Scenario], config: DetectConfig, jobs: int,
                   horizon_days: int | None) -> list[Outcome]:  # fmt: skip
    if jobs <= 1:
        return sweep(items, config, horizon_days=horizon_days)
    from concurrent.futures import ProcessPoolExecutor

    out = []
    with ProcessPoolExecutor(jobs) as pool:
        work = [(sc, config, horizon_days, False) for sc in items]
        for o in pool.map(_evaluate_one, work):
            _progress(o)
            out.append(o)
    return out


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.replot is not None:
        import json

        rows = json.loads(args.replot.read_text())["rows"]
        plot_rows(rows, (args.plots or Path(".")) / "breach_recall.png")
        return rows
    config = _config(args.set)
    t0 = time.perf_counter()
    items = select(scenarios(args.quick, args.seeds, args.cards, args.limits, not args.no_goal),
                   args.only)  # fmt: skip
    outcomes = sweep_parallel(items, config, args.jobs, args.horizon)
    rows = summarise(outcomes)
    command = ["bench/breach_eval.py", *(sys.argv[1:] if argv is None else argv)]
    print(f"command: .venv/bin/python {shlex.join(command)}")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for cards in sorted({o.scenario.cards for o in outcomes}, reverse=True):
        mine = [o for o in outcomes if o.scenario.cards == cards]
        print_table(
            [r for r in rows if r["cards"] == cards],
            f"Breach detection over {len(mine)} simulated worlds "
            f"({cards:,} cards, {mine[0].scenario.days} days)",
        )
        g = goals(outcomes, cards)
        print(
            f"{cards:,} cards, {g['worlds']} worlds with <= 2% defrauded: "
            f"recall {_fmt(g['recall'], True)}, precision {_fmt(g['precision'], True)} "
            f"(goal: >= 90% each); {g['null_false']} false alerts in {g['null_worlds']} "
            f"breach-free worlds, {g['false']} in all"
        )
    timelines: list[Outcome] = []
    if not args.quick and not args.no_timeline:
        for share, seed in itertools.product(
            (float(x) for x in args.timeline_shares.split(",")), range(args.timeline_seeds)
        ):
            sc = thirteen(share, args.timeline_cards, seed)
            tl = evaluate(
                sc,
                config,
                horizon_days=40,
                stop_when_found=True,
                step=timedelta(hours=args.timeline_every),
            )
            timelines.append(tl)
            print(
                f"2013-like world ({sc.cards:,} cards, {100 * share:g}% defrauded, seed {seed}, "
                f"{tl.defrauded} victims of {tl.exposed} exposed): breach starts "
                f"{tl.breach_start:%Y-%m-%d}, first report {tl.first_report:%Y-%m-%d %H:%M}, "
                f"first correct alert {tl.found_at and f'{tl.found_at:%Y-%m-%d %H:%M}'} "
                f"(runs every {args.timeline_every:g} h) "
                f"({tl.reports_at_alert} victims reported by then): "
                f"{_fmt(tl.lead_from_start)} days from the start, "
                f"{_fmt(tl.lead_from_report)} days from the first report (goal: <= 2); "
                f"first named (alerted or held beside another place) "
                f"{_fmt(tl.named_from_report)} days from the first report"
            )
    if args.plots:
        recall_plot(outcomes, args.plots / "breach_recall.png")
        if timelines:
            timeline_plot(timelines[0], args.plots / "breach_timeline.png")
    if args.json:
        import json

        args.json.write_text(json.dumps({
            "command": shlex.join(command), "rows": rows, "load": load,
            "worlds": [{
                "scenario": str(o.scenario), "found_at": str(o.found_at),
                "held_at": str(o.held_at),
                "seconds": round(o.seconds), "alerts": [
                    [str(d), key, "false" if hit is None else f"compromise {hit}"]
                    for d, key, hit in o.alerts],
            } for o in outcomes],
            "goals": {c: goals(outcomes, c) for c in {o.scenario.cards for o in outcomes}},
            "timelines": [{
                "cards": t.scenario.cards, "share": t.scenario.share, "seed": t.scenario.seed,
                "exposed": t.exposed,
                "every_hours": args.timeline_every,
                "defrauded": t.defrauded, "start": str(t.breach_start),
                "first_report": str(t.first_report), "alert": str(t.found_at),
                "from_start": t.lead_from_start, "from_report": t.lead_from_report,
                "held": str(t.held_at), "named_from_report": t.named_from_report,
                "reports_at_alert": t.reports_at_alert,
                "window": [str(w) for w in t.window] if t.window else None,
            } for t in timelines],
        }, indent=1, default=str))  # fmt: skip
    print(f"took {time.perf_counter() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
