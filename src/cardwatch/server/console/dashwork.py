"""The dashboard's numbers: how decisions went, how they fared once labels arrived, what the
cardholders were told and how fast they unblocked themselves."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from cardwatch.server.console.charts import line_chart
from cardwatch.server.console.context import Console
from cardwatch.server.console.queries import DailyCounts, daily_counts, unblock_delays

__all__ = ["Dashboard", "dashboard"]

ACTIONS = ("approve", "challenge", "decline", "review")


@dataclass
class Dashboard:
    counts: DailyCounts | None
    total: int = 0
    rates: dict[str, float] = field(default_factory=dict)
    unblocks: int = 0
    median_unblock_seconds: float | None = None
    charts: dict[str, str] = field(default_factory=dict)


def dashboard(console: Console) -> Dashboard:
    counts = daily_counts(console.store)
    board = Dashboard(counts)
    if counts is None:
        return board
    per_action = {a: sum(counts.actions.get(a, {}).values()) for a in ACTIONS}
    board.total = sum(per_action.values())
    if board.total:
        board.rates = {a: n / board.total for a, n in per_action.items()}
    delays = unblock_delays(console.store)
    board.unblocks = len(delays)
    board.median_unblock_seconds = statistics.median(delays) if delays else None
    days = counts.days[-60:]
    if days:
        labels = [d.strftime("%d %b") for d in days]
        board.charts["volume"] = line_chart(
            labels,
            {a: [counts.actions.get(a, {}).get(d, 0) for d in days] for a in ACTIONS},
            colours=(2, 3, 1, 4),
        )
        daily_total = [sum(counts.actions.get(a, {}).get(d, 0) for a in ACTIONS) for d in days]
        board.charts["rates"] = line_chart(
            labels,
            {
                a: [
                    counts.actions.get(a, {}).get(d, 0) / n if n else 0.0
                    for d, n in zip(days, daily_total, strict=True)
                ]
                for a in ("challenge", "decline")
            },
            pct=True,
            colours=(3, 1),
        )
        board.charts["labels"] = line_chart(
            labels,
            {
                "fraud confirmed": [counts.fraud_labels.get(d, 0) for d in days],
                "legitimate": [counts.legit_labels.get(d, 0) for d in days],
                "notices sent": [counts.notices.get(d, 0) for d in days],
            },
            colours=(1, 2, 0),
        )
    return board
