"""Decision quality of cardwatch's own pipeline on the default world: fraud stopped, honest hurt.

The whole path a bank would run, in process: simulate the ``default`` world (a French issuer with
a till breach, a skimmer, card testing, lost/stolen cards and phishing), import it into a fresh
workspace, ``train`` at an as-of moment with only the labels reported by then, and ``replay``
the later test period through the engine exactly as live (rules in force, model cut-offs).
Then count, on the test period:

- the share of fraud **amount** stopped (declined or challenged), against the world's ground
  truth (the ``scenario`` column: every fraud, reported or not) and against the labels the
  issuer eventually receives (``is_fraud``);
- the false-decline rate of honest payments (Stripe reports blocking about 0.1%) and their
  challenge rate; the same for honest **cross-border card-not-present** payments (a French card
  paying a foreign website or by phone): the payments the French bank blocked wholesale, which
  should be treated like any other honest payment;
- recall per fraud scenario, distinct honest cardholders hurt, and AUC / AP of the score;
- with ``--blanket``: a rules backtest (:func:`cardwatch.rules.backtest`) of the blanket rule
  "decline every card-not-present payment to a US merchant" beside the model-based policy.

Run: ``.venv/bin/python bench/bench_quality.py`` (the full default world, ~1M payments, a few
minutes on two busy cores); ``--cards 5000`` while iterating; ``--plots DIR`` writes
``quality_*.png`` there.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from cardwatch.importer import import_cards, import_file
from cardwatch.model import average_precision, roc_auc
from cardwatch.rules import RuleSet, RuleStore, backtest
from cardwatch.rules.ruleset import Rule
from cardwatch.runtime import engine_parts, replay_workspace, train_model
from cardwatch.store.history import History
from cardwatch.workspace import Workspace
from cardwatch.world import World, WorldConfig, simulate

CNP_CHANNELS = ("ecommerce", "moto")
BLANKET = Rule.parse(
    "blanket_us_cnp",
    'decline if card_not_present == 1 and merchant_country == "US"',
    "Internet and phone payments to American merchants are blocked.",
)


@dataclass
class Run:
    """One bench run: the world, its workspace, the trained model, the test decisions."""

    world: World
    ws: Workspace
    as_of: datetime
    trained: Any
    test: pd.DataFrame  # one row per test payment: decision joined with the ground truth
    seconds: dict[str, float]


def build(cards: int, seed: int, as_of_day: int, home: Path, model_params: dict[str, Any]) -> Run:
    """Simulate, import, train at the as-of moment, replay the rest of history."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    config = WorldConfig(seed=seed).resized(cards=cards)
    world = simulate(config)
    seconds["simulate"] = time.perf_counter() - t0
    files = home / "world"
    files.mkdir(parents=True, exist_ok=True)
    pq.write_table(world.transactions, files / "transactions.parquet")
    pq.write_table(world.cards, files / "cards.parquet")
    ws = Workspace.open(home / "ws")
    history = History(ws)
    t0 = time.perf_counter()
    import_cards(history, files / "cards.parquet", ws.pan_key())
    import_file(history, files / "transactions.parquet", ws.pan_key())
    seconds["import"] = time.perf_counter() - t0
    first = config.start
    as_of = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(days=as_of_day)
    t0 = time.perf_counter()
    trained = train_model(ws, None, as_of, as_of, as_of, **model_params)
    seconds["train (replay + fit)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    decisions = replay_workspace(ws, as_of, None).to_pandas()
    seconds["replay"] = time.perf_counter() - t0
    truth = world.transactions.select(
        ["txn_id", "card_id", "amount", "channel", "merchant_country", "is_fraud", "scenario"]
    ).to_pandas()
    homes = world.cards.select(["card_id", "home_country"]).to_pandas()
    test = decisions.merge(truth, on="txn_id", how="left", validate="one_to_one")
    test = test.merge(homes, on="card_id", how="left")
    return Run(world, ws, as_of, trained, test, seconds)


def rates(test: pd.DataFrame) -> dict[str, float]:
    """The headline figures of one test period."""
    stopped = test["action"].isin(["decline", "challenge"]).to_numpy()
    declined = (test["action"] == "decline").to_numpy()
    challenged = (test["action"] == "challenge").to_numpy()
    fraud = (test["scenario"] != "").to_numpy()
    known = (test["is_fraud"] == 1).to_numpy()
    honest = ~fraud
    amount = test["amount"].to_numpy()
    cnp = test["channel"].isin(CNP_CHANNELS).to_numpy()
    abroad = (test["merchant_country"] != test["home_country"]).to_numpy()
    xb_cnp = honest & cnp & abroad
    cards = test["card_id"].to_numpy()
    return {
        "payments": float(len(test)),
        "frauds (ground truth)": float(fraud.sum()),
        "fraud amount stopped, ground truth": amount[fraud & stopped].sum() / amount[fraud].sum(),
        "  of which declined": amount[fraud & declined].sum() / amount[fraud].sum(),
        "fraud amount stopped, labels known": amount[known & stopped].sum() / amount[known].sum(),
        "frauds stopped (count), ground truth": (fraud & stopped).sum() / fraud.sum(),
        "honest declined (false-decline rate)": declined[honest].mean(),
        "honest challenged": challenged[honest].mean(),
        "honest cross-border CNP payments": float(xb_cnp.sum()),
        "honest cross-border CNP declined": declined[xb_cnp].mean(),
        "honest cross-border CNP challenged": challenged[xb_cnp].mean(),
        "honest cardholders (cards) declined": float(len(np.unique(cards[honest & declined]))),
        "honest cardholders (cards) hurt (declined or challenged)": float(
            len(np.unique(cards[honest & stopped]))
        ),
        "cards with an honest payment in the period": float(len(np.unique(cards[honest]))),
        "AUC of the score (ground truth)": roc_auc(fraud.astype(int), test["score"].to_numpy()),
        "AP of the score (ground truth)": average_precision(
            fraud.astype(int), test["score"].to_numpy()
        ),
    }


def per_scenario(test: pd.DataFrame) -> pd.DataFrame:
    """Recall (count and amount) of each fraud scenario, declined or challenged."""
    rows = []
    for name, g in test[test["scenario"] != ""].groupby("scenario"):
        stop = g["action"].isin(["decline", "challenge"])
        rows.append(
            {
                "scenario": name,
                "frauds": len(g),
                "stopped": stop.mean(),
                "declined": (g["action"] == "decline").mean(),
                "amount stopped": g["amount"][stop].sum() / g["amount"].sum(),
            }
        )
    return pd.DataFrame(rows)


def decided_by(test: pd.DataFrame) -> pd.DataFrame:
    """Who stopped the honest and fraud payments: the first reason code, rule or model."""
    hit = test[test["action"].isin(["decline", "challenge"])].copy()
    hit["by"] = hit["reasons"].str.split(";").str[0]
    hit["fraud"] = hit["scenario"] != ""
    return (
        hit.groupby(["action", "by"])["fraud"]
        .agg(frauds="sum", payments="count")
        .assign(honest=lambda d: d["payments"] - d["frauds"])
        .reset_index()
        .sort_values(["action", "payments"], ascending=[True, False])
    )


def markdown(frame: pd.DataFrame) -> str:
    """A data frame as a Markdown table (shares as percentages), without extra dependencies."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.1%}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int)
                 else str(v) for v in row]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cutoff_rules(decline_at: float, challenge_at: float) -> tuple[Rule, Rule]:
    """The model's cut-offs written as rules, so the backtest can weigh the model policy."""
    return (
        Rule.parse(
            "model_challenge",
            f"challenge if score > {challenge_at!r} and score <= {decline_at!r}",
            "Model score above the challenge cut-off.",
        ),
        Rule.parse("model_decline", f"decline if score > {decline_at!r}", "Model score high."),
    )


def blanket_backtest(run: Run, plots: Path | None) -> None:
    """Backtest the blanket US card-not-present block against the model-based policy."""
    from cardwatch.cli.rules import replayed_columns

    in_force = RuleStore(run.ws).current()
    policy = engine_parts(run.ws).policy
    model_policy = RuleSet(
        (*in_force.rules, *cutoff_rules(policy.decline_at, policy.challenge_at)),
        in_force.lists,
        "model-based policy: default rules and the model's cut-offs",
    )
    blanket = RuleSet((BLANKET,), {}, "the blanket block alone")
    both = RuleSet((*model_policy.rules, BLANKET), in_force.lists, "model policy + blanket")
    t0 = time.perf_counter()
    columns = replayed_columns(run.ws, run.as_of, None, in_force)
    known = columns.pop("is_fraud")
    card_ids = columns.pop("card_id")
    table = History(run.ws).table()
    ts = table.column("timestamp").to_numpy(zero_copy_only=False)
    keep = ts >= np.datetime64(run.as_of.replace(tzinfo=None), "us")
    ids = table.column("txn_id").to_numpy(zero_copy_only=False)[keep]
    scen = run.test.set_index("txn_id").loc[ids, "scenario"].to_numpy()
    truth = (scen != "").astype(float)
    print(f"\nbacktest columns replayed in {time.perf_counter() - t0:.1f} s")
    print("\n### Blanket rule vs model-based policy (test period, rules backtest)\n")
    print(f"blanket rule: `{BLANKET.text}`\n")
    header = (
        "| policy | labels | frauds stopped | fraud amount stopped | honest declined "
        "| honest decline rate | honest cardholders declined | honest cardholders hurt |"
    )
    print(header + "\n|---|---|---|---|---|---|---|---|")
    for label_name, labels in (("ground truth", truth), ("known", known)):
        r1 = backtest(columns, labels, columns["amount"], card_ids, blanket, model_policy)
        r2 = backtest(columns, labels, columns["amount"], card_ids, both, model_policy)
        for name, s in (
            ("model-based policy", r1.baseline),
            ("blanket US CNP block alone", r1.candidate),
            ("model policy + blanket block", r2.candidate),
        ):
            print(
                f"| {name} | {label_name} | {s.frauds_stopped:,} / {r1.frauds:,} "
                f"| {s.fraud_amount_stopped / r1.fraud_amount:.1%} | {s.honest_declined:,} "
                f"| {s.honest_decline_rate:.3%} | {s.by_action['decline'].honest_cards:,} "
                f"| {s.honest_cards_hurt:,} |"
            )
    if plots is None:
        return
    curve = []
    for t in np.quantile(columns["score"], [0.9, 0.97, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999]):
        only = RuleSet((Rule.parse("cut", f"decline if score > {float(t)!r}", "Model."),))
        r = backtest(columns, truth, columns["amount"], card_ids, only, blanket)
        curve.append(
            (
                r.candidate.by_action["decline"].honest_cards,
                r.candidate.fraud_amount_stopped / r.fraud_amount,
            )
        )
    r = backtest(columns, truth, columns["amount"], card_ids, model_policy, blanket)
    _plot_blanket(plots, curve, r, policy.decline_at)


def _plot_blanket(plots: Path, curve: list[tuple[int, float]], r: Any, decline_at: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    xs, ys = zip(*sorted(curve), strict=True)
    ax.plot(xs, [100 * y for y in ys], "o-", color="#1f77b4", label="model: decline if score > t")
    points = (
        (r.candidate, "*", "#2ca02c", f"model-based policy (declines > {decline_at:.2f}, rules)"),
        (r.baseline, "X", "#d62728", "blanket: decline every CNP payment to a US merchant"),
    )
    for stats, marker, colour, label in points:
        x = stats.by_action["decline"].honest_cards
        y = 100 * stats.fraud_amount_stopped / r.fraud_amount
        ax.scatter([x], [y], s=90, marker=marker, color=colour, zorder=3, label=label)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("distinct honest cardholders with a payment declined (test period)")
    ax.set_ylabel("fraud amount stopped, % (ground truth)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Blanket block vs model-based policy (default world, rules backtest)")
    fig.tight_layout()
    fig.savefig(plots / "quality_blanket_rule.png", dpi=110)
    plt.close(fig)


def plot_scores(run: Run, plots: Path) -> None:
    """Precision-recall curve and score distributions of the test period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fraud = (run.test["scenario"] != "").to_numpy().astype(int)
    score = run.test["score"].to_numpy()
    t = run.trained.model.thresholds_
    precision, recall, _ = precision_recall_curve(fraud, score)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(recall, precision, color="#1f77b4")
    cuts = (("decline", t.decline, "#d62728"), ("challenge", t.challenge, "#ff7f0e"))
    for name, thr, colour in cuts:
        above = score > thr
        p, r = fraud[above].mean() if above.any() else 0.0, above[fraud == 1].mean()
        ax.scatter([r], [p], color=colour, zorder=3, label=f"{name} cut-off {thr:.4f}")
    ax.set_xlabel("recall (share of frauds above the cut-off)")
    ax.set_ylabel("precision")
    ax.set_title(f"Precision-recall, test period (AP {average_precision(fraud, score):.3f})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(plots / "quality_pr.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    bins = np.linspace(-7, 0, 57)
    logs = np.log10(np.clip(score, 1e-7, 1.0))
    ax.hist(logs[fraud == 0], bins=bins, density=True, alpha=0.45, color="grey",
            label=f"honest ({(fraud == 0).sum():,})")  # fmt: skip
    for name, g in run.test[fraud == 1].groupby("scenario"):
        ax.hist(np.log10(np.clip(g["score"], 1e-7, 1.0)), bins=bins, density=True,
                histtype="step", linewidth=1.5, label=f"{name} ({len(g)})")  # fmt: skip
    ax.axvline(np.log10(t.decline), color="#d62728", linestyle="--", label="decline cut-off")
    ax.axvline(np.log10(t.challenge), color="#ff7f0e", linestyle="--", label="challenge cut-off")
    ax.set_xlabel("log10 score (probability of fraud)")
    ax.set_ylabel("density (each group sums to 1)")
    ax.set_title("Score distributions, test period")
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(plots / "quality_scores.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, default=10_000, help="cards in the world")
    parser.add_argument("--seed", type=int, default=0, help="world seed")
    parser.add_argument("--as-of-day", type=int, default=63,
                        help="train at this day of the world (63: 15 Dec, mid-breach)")  # fmt: skip
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--honest-rows", type=int, default=100_000)
    parser.add_argument("--false-decline-rate", type=float, default=0.001)
    parser.add_argument("--challenge-rate", type=float, default=0.003)
    parser.add_argument("--blanket", action="store_true", help="backtest the blanket US block")
    parser.add_argument("--plots", type=Path, default=None, help="write quality_*.png here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the workspace here")
    args = parser.parse_args(argv)
    print("command:", shlex.join([sys.executable, *sys.argv]))
    loadavg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"cpus: {os.cpu_count()}, load average at start: {loadavg} (others slow figures)")
    print(f"python {platform.python_version()}, lightgbm {lgb.__version__}")
    params = {
        "n_estimators": args.trees,
        "honest_rows": args.honest_rows if args.honest_rows > 0 else None,
        "seed": args.model_seed,
        "target_false_decline_rate": args.false_decline_rate,
        "target_challenge_rate": args.challenge_rate,
    }
    with tempfile.TemporaryDirectory(prefix="cw-quality-") as tmp:
        home = args.workdir or Path(tmp)
        run = build(args.cards, args.seed, args.as_of_day, home, params)
        tr = run.trained
        t = tr.model.thresholds_
        print(
            f"world: {run.world.transactions.num_rows:,} payments; trained at {run.as_of:%Y-%m-%d}"
            f" on {tr.rows:,} payments ({tr.frauds:,} frauds known then), "
            f"{tr.model.booster_.num_trees()} trees; cut-offs: decline > {t.decline:.4f}, "
            f"challenge > {t.challenge:.4f}"
        )
        print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in run.seconds.items()))
        print(f"\n### Test period {run.as_of:%Y-%m-%d} .. end of history\n")
        print("| figure | value |\n|---|---|")
        for name, value in rates(run.test).items():
            if value >= 1 and float(value).is_integer():
                text = f"{int(value):,}"
            elif name.startswith(("AUC", "AP")):
                text = f"{value:.4f}"
            else:
                text = f"{value:.3%}"
            print(f"| {name} | {text} |")
        print("\n### Per scenario (declined or challenged)\n")
        print(markdown(per_scenario(run.test)))
        print("\n### What stopped payments (first reason)\n")
        print(markdown(decided_by(run.test)))
        if args.plots is not None:
            args.plots.mkdir(parents=True, exist_ok=True)
            plot_scores(run, args.plots)
        if args.blanket:
            blanket_backtest(run, args.plots)


if __name__ == "__main__":
    main()
