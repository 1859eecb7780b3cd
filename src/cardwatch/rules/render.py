"""Rich renderings of rule sets and backtest reports, for the terminal.

Built here rather than in the CLI so that the analyst console can show the same tables; the
functions return renderables and print nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group
from rich.table import Table

from cardwatch.rules.backtest import BacktestReport, RuleStats, SetStats
from cardwatch.rules.ruleset import RuleSet

__all__ = ["backtest_tables", "ruleset_table"]


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.3f}%"


def _version(s: SetStats, unversioned: str) -> str:
    return unversioned if s.version is None else f"v{s.version}"


def ruleset_table(ruleset: RuleSet) -> Table:
    """The rules of a set, in file order, with their mode and reason."""
    title = "default rule set" if ruleset.version is None else f"rule set v{ruleset.version}"
    table = Table(title=title, caption=ruleset.description or None)
    for col in ("id", "mode", "rule", "description"):
        table.add_column(col, overflow="fold")
    for r in ruleset.rules:
        mode = r.mode.value if r.live else f"[dim]{r.mode.value}[/dim]"
        table.add_row(r.id, mode, r.text, r.description)
    if ruleset.lists:
        table.caption = (
            (table.caption or "")
            + "  lists: "
            + ", ".join(f"@{name} ({len(items)})" for name, items in ruleset.lists.items())
        )
    return table


def _summary(report: BacktestReport) -> Table:
    c, b = report.candidate, report.baseline
    table = Table(
        title=f"backtest over {report.rows:,} payments ({report.frauds:,} fraud, "
        f"{_money(report.fraud_amount)} fraud amount)"
    )
    table.add_column("")
    table.add_column(f"candidate ({_version(c, 'file')})", justify="right")
    table.add_column(f"in force ({_version(b, 'default')})", justify="right")
    rows = [
        ("frauds stopped (declined or challenged)", lambda s: f"{s.frauds_stopped:,}"),
        ("fraud amount stopped", lambda s: _money(s.fraud_amount_stopped)),
        ("honest payments declined", lambda s: f"{s.honest_declined:,}"),
        ("honest decline rate", lambda s: _pct(s.honest_decline_rate)),
        ("honest payments challenged", lambda s: f"{s.honest_challenged:,}"),
        ("honest challenge rate", lambda s: _pct(s.honest_challenge_rate)),
        ("honest cardholders hurt", lambda s: f"{s.honest_cards_hurt:,}"),
        ("payments sent to review", lambda s: f"{s.by_action['review'].rows:,}"),
        ("payments allowed by a rule", lambda s: f"{s.by_action['allow'].rows:,}"),
    ]
    for label, fmt in rows:
        table.add_row(label, fmt(c), fmt(b))
    return table


_METRICS = (
    ("hits", lambda s: f"{s.hits:,}"),
    ("decided", lambda s: f"{s.decided:,}"),
    ("frauds", lambda s: f"{s.frauds:,}"),
    ("fraud amount", lambda s: _money(s.fraud_amount)),
    ("honest hit", lambda s: f"{s.honest:,}"),
    ("honest cards", lambda s: f"{s.honest_cards:,}"),
)


def _pair(fmt: Callable[[RuleStats], str], cand: RuleStats | None, base: RuleStats | None) -> str:
    return f"{fmt(cand) if cand else '–'} | {fmt(base) if base else '–'}"


def _rules(report: BacktestReport) -> Table:
    table = Table(title="per rule (candidate | in force)")
    table.add_column("rule")
    table.add_column("action")
    for name, _ in _METRICS:
        table.add_column(name, justify="right")
    for rule_id, cand, base in report.rule_pairs():
        some = cand or base
        assert some is not None
        action = some.action + ("" if some.mode == "live" else " (shadow)")
        table.add_row(rule_id, action, *(_pair(fmt, cand, base) for _, fmt in _METRICS))
    return table


def backtest_tables(report: BacktestReport) -> Group:
    """The whole-set summary, then one row per rule, candidate beside the set in force."""
    return Group(_summary(report), _rules(report))
