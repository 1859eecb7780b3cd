"""Figures and key statistics of a simulated world, for docs/world.md (an adapter: writes files).

    .venv/bin/python -m cardwatch.world.plots --out docs/img

draws the ``default`` world (seed 0, 10,000 cards, 120 days), saves ``world_*.png`` and prints
its key statistics as Markdown.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cardwatch.world import World, WorldConfig, simulate

__all__ = ["amounts", "breach_spread", "breach_timeline", "hours", "main", "statistics"]

_MCC_LABELS = {
    "5411": "supermarkets", "5310": "discount stores", "5541": "fuel", "5542": "fuel (auto)",
    "4111": "transit", "5812": "restaurants", "5814": "fast food, cafés", "5462": "bakeries",
    "5912": "pharmacies", "5999": "marketplaces", "4816": "web hosting", "5817": "software",
    "4511": "airlines", "7011": "hotels", "6011": "ATM", "5732": "electronics",
    "5651": "clothing", "5200": "DIY", "4899": "streaming", "5993": "tobacco, press",
    "5499": "food stores",
}  # fmt: skip


def _local(tx: pd.DataFrame) -> pd.Series:
    return tx["timestamp"].dt.tz_convert("Europe/Paris")


def hours(tx: pd.DataFrame, path: Path) -> None:
    """Transactions per hour of day (Paris time), card present vs online, weekday vs weekend."""
    honest = tx[(tx["scenario"] == "") & (tx["merchant_country"] == "FR")]
    local = _local(honest)
    weekend = local.dt.day_of_week >= 5
    fig, ax = plt.subplots(figsize=(8, 4))
    for (label, mask), style in zip(
        [("card present, weekdays", (honest["channel"] != "ecommerce") & ~weekend),
         ("card present, weekends", (honest["channel"] != "ecommerce") & weekend),
         ("online, all days", honest["channel"] == "ecommerce")],
        ["-", "--", ":"], strict=True,
    ):  # fmt: skip
        counts = local[mask].dt.hour.value_counts(normalize=True).sort_index()
        ax.plot(counts.index, counts.to_numpy() * 100, style, marker="o", ms=3, label=label)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day (Paris time)")
    ax.set_ylabel("% of the group's transactions")
    ax.set_title("When honest cardholders pay (French merchants)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def amounts(tx: pd.DataFrame, path: Path) -> None:
    """Honest amounts by merchant category (log scale), the 14 busiest categories."""
    honest = tx[tx["scenario"] == ""]
    top = honest["mcc"].value_counts().index[:14]
    data = [honest.loc[honest["mcc"] == m, "amount"].to_numpy() for m in top]
    labels = [f"{m} {_MCC_LABELS.get(m, '')}".strip() for m in top]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.boxplot(data, orientation="horizontal", showfliers=False, whis=(5, 95))
    ax.set_yticks(range(1, len(labels) + 1), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("amount, EUR (box: quartiles, whiskers: 5th-95th percentile)")
    ax.set_title("Honest amounts by merchant category (busiest first)")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def breach_timeline(world: World, tx: pd.DataFrame, path: Path) -> None:
    """The main breach: exposure window, then frauds per day, then reports per day."""
    b = world.truth["breaches"][0]
    start, end = pd.Timestamp(b["window_start"]), pd.Timestamp(b["window_end"])
    victims = set(b["defrauded_cards"])
    frauds = tx[(tx["scenario"] == "breach") & tx["card_id"].isin(victims)]
    other = tx[(tx["scenario"] != "") & (tx["scenario"] != "breach")]
    reports = frauds.dropna(subset=["fraud_reported_at"]).groupby("card_id")["fraud_reported_at"]
    report_day = reports.min().dt.floor("D").value_counts().sort_index()
    fraud_day = frauds["timestamp"].dt.floor("D").value_counts().sort_index()
    other_day = other["timestamp"].dt.floor("D").value_counts().sort_index()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.axvspan(start, end, color="tab:red", alpha=0.12, label="tills compromised")
    ax.bar(fraud_day.index, fraud_day.to_numpy(), width=0.8, color="tab:red",
           label="breach frauds / day")  # fmt: skip
    ax.bar(report_day.index, -report_day.to_numpy(), width=0.8, color="tab:blue",
           label="victim cards reported / day (below)")  # fmt: skip
    ax.plot(other_day.index, other_day.to_numpy(), color="grey", lw=1,
            label="other fraud / day (phishing, testing, lost, skimmer)")  # fmt: skip
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title(f"Breach of {b['chain']}: {len(b['exposed_cards']):,} cards exposed, "
                 f"{len(b['defrauded_cards']):,} defrauded")  # fmt: skip
    ax.set_ylabel("per day")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def breach_spread(world: World, tx: pd.DataFrame, path: Path) -> None:
    """Where the breach's stolen cards were used, week by week: one country, then many."""
    b = world.truth["breaches"][0]
    frauds = tx[(tx["scenario"] == "breach") & tx["card_id"].isin(set(b["defrauded_cards"]))]
    week = frauds["timestamp"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    table = pd.crosstab(week, frauds["merchant_country"])
    table = table[table.sum().sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = np.zeros(len(table))
    colours = plt.get_cmap("tab20").colors
    for i, country in enumerate(table.columns):
        values = table[country].to_numpy()
        ax.bar(np.arange(len(table)), values, bottom=bottom, width=0.85, label=country,
               color=colours[i % len(colours)])  # fmt: skip
        bottom += values
    ax.set_xticks(range(len(table)), [d.strftime("%d %b") for d in table.index])
    ax.set_xlabel("week starting")
    ax.set_ylabel("breach frauds")
    ax.set_title("Breach frauds by merchant country: the cards spread over the world")
    ax.legend(ncol=2, fontsize=7, title="country")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def statistics(world: World) -> str:
    """Key statistics as a Markdown table."""
    s, t = world.truth["stats"], world.truth
    b = t["breaches"][0]
    lines = [
        "| statistic | value |", "|---|---|",
        f"| transactions | {s['transactions']:,} |",
        f"| cards (of which replacements) | {world.cards.num_rows:,} "
        f"({s['replacement_cards']:,}) |",
        f"| customers | {s['customers']:,} |",
        f"| merchants / terminals | {s['merchants']:,} / {s['terminals']:,} |",
        f"| fraud transactions (rate) | {s['fraud_transactions']:,} ({s['fraud_rate']:.3%}) |",
        f"| labelled in the file / never reported | {s['labelled_fraud_transactions']:,} / "
        f"{s['unreported_fraud_transactions']:,} |",
    ]  # fmt: skip
    for name, n in s["transactions_by_scenario"].items():
        if name != "honest":
            lines.append(f"| &nbsp; {name} | {n:,} |")
    lines += [
        f"| breach: chain, stores, terminals | {b['chain']}, {len(b['merchant_ids'])}, "
        f"{len(b['terminal_ids'])} |",
        f"| breach window | {b['window_start'][:10]} to {b['window_end'][:10]} (exclusive) |",
        f"| breach: exposed / defrauded / reported cards | {len(b['exposed_cards']):,} / "
        f"{len(b['defrauded_cards']):,} / {len(b['reported_cards']):,} |",
        f"| breach: first fraud / first report | {b['first_fraud_at'][:16]} / "
        f"{b['first_report_at'][:16]} |",
    ]  # fmt: skip
    tx = world.transactions
    honest_us_web = tx.filter(
        (tx["scenario"].to_numpy(zero_copy_only=False) == "")
        & (tx["merchant_country"].to_numpy(zero_copy_only=False) == "US")
        & (tx["channel"].to_numpy(zero_copy_only=False) == "ecommerce")
    )
    lines.append(
        f"| honest online payments to US merchants (cards) | {honest_us_web.num_rows:,} "
        f"({len(set(honest_us_web['card_id'].to_pylist())):,}) |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Draw the world's figures for docs/world.md.")
    p.add_argument("--out", type=Path, default=Path("docs/img"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cards", type=int, default=10_000)
    args = p.parse_args(argv)
    world = simulate(WorldConfig(seed=args.seed, cards=args.cards))
    tx = world.transactions.to_pandas()
    args.out.mkdir(parents=True, exist_ok=True)
    hours(tx, args.out / "world_hours.png")
    amounts(tx, args.out / "world_amounts.png")
    breach_timeline(world, tx, args.out / "world_breach_timeline.png")
    breach_spread(world, tx, args.out / "world_breach_spread.png")
    print(statistics(world))


if __name__ == "__main__":
    main()
