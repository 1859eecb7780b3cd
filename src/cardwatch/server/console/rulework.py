"""Rule sets in the console: what is in force, backtesting a candidate against it, and saving
or promoting (every change a new version, audited).

Backtests need the replayed attribute columns of history (features and the model's score for
every past payment). Computing them replays all history, so they are cached per rule set in force
and per set of history files; the function that computes them is injectable (tests use small
synthetic columns) and defaults to the one ``cardwatch rules backtest`` uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cardwatch.errors import CardwatchError
from cardwatch.rules import BacktestReport, Mode, RuleSet, RuleStore, backtest
from cardwatch.rules.toml_io import dumps_ruleset, loads_ruleset
from cardwatch.server.console.context import Console
from cardwatch.server.console.errors import ActionRefused
from cardwatch.store.records import User
from cardwatch.workspace import Workspace

__all__ = [
    "ColumnsProvider",
    "RulesView",
    "parse_candidate",
    "pin_version",
    "promote_rule",
    "rules_view",
    "run_backtest",
    "save_candidate",
    "with_rule_live",
]

#: Replayed columns for a backtest: every attribute, plus ``is_fraud``, ``amount``, ``card_id``.
ColumnsProvider = Callable[[Workspace, RuleSet], dict[str, np.ndarray]]


def replayed_history_columns(ws: Workspace, in_force: RuleSet) -> dict[str, np.ndarray]:
    """The workspace's whole history replayed, as ``cardwatch rules backtest`` does."""
    from cardwatch.store.history import History

    if History(ws).is_empty():
        raise ActionRefused("There is no history to backtest on yet: import transactions first.")
    from cardwatch.cli.rules import replayed_columns

    return replayed_columns(ws, None, None, in_force)


@dataclass
class RulesView:
    in_force: RuleSet
    version: int | None
    versions: list[int]
    pinned: int | None
    text: str


def rules_view(console: Console) -> RulesView:
    store = RuleStore(console.ws)
    in_force = store.current()
    return RulesView(
        in_force=in_force,
        version=store.current_version(),
        versions=store.versions(),
        pinned=store.pinned(),
        text=dumps_ruleset(in_force),
    )


def parse_candidate(text: str) -> RuleSet:
    try:
        return loads_ruleset(text)
    except CardwatchError as exc:
        raise ActionRefused(str(exc)) from exc
    except ValueError as exc:  # TOML syntax
        raise ActionRefused(f"not a valid rule-set file: {exc}") from exc


def _columns(console: Console, in_force: RuleSet) -> dict[str, np.ndarray]:
    provider: ColumnsProvider = console.cache.get("columns_provider", replayed_history_columns)
    parts = tuple(sorted(p.name for p in console.ws.history_dir.glob("*.parquet")))
    key = (in_force.version, dumps_ruleset(in_force), parts)
    cached = console.cache.get("columns")
    if cached is None or cached[0] != key:
        cached = (key, provider(console.ws, in_force))
        console.cache["columns"] = cached
    return dict(cached[1])


def run_backtest(console: Console, user: User, candidate: RuleSet) -> BacktestReport:
    """Candidate against the set in force over the same replayed history."""
    in_force = RuleStore(console.ws).current()
    columns = _columns(console, in_force)
    labels = columns.pop("is_fraud")
    card_ids = columns.pop("card_id")
    try:
        report = backtest(columns, labels, columns["amount"], card_ids, candidate, in_force)
    except CardwatchError as exc:
        raise ActionRefused(str(exc)) from exc
    console.audit(
        user.username,
        "rules_backtest",
        "rules",
        rows=report.rows,
        rules=[r.id for r in candidate.rules],
    )
    return report


def with_rule_live(ruleset: RuleSet, rule_id: str) -> RuleSet:
    try:
        ruleset.rule(rule_id)
    except KeyError:
        raise ActionRefused(f"no rule {rule_id!r} in the set in force") from None
    rules = tuple(
        dataclasses.replace(r, mode=Mode.LIVE) if r.id == rule_id else r for r in ruleset.rules
    )
    return RuleSet(rules, ruleset.lists, ruleset.description)


def save_candidate(
    console: Console, user: User, candidate: RuleSet, why: str, **details: Any
) -> int:
    """Store ``candidate`` as a new version and put it in force; audited."""
    store = RuleStore(console.ws)
    before = store.current_version()
    try:
        version = store.save(RuleSet(candidate.rules, candidate.lists, candidate.description))
    except CardwatchError as exc:
        raise ActionRefused(str(exc)) from exc
    if store.pinned() is not None:
        store.pin(version)
    console.audit(user.username, why, "rules", version=version, previous=before, **details)
    return version


def promote_rule(console: Console, user: User, rule_id: str) -> int:
    """Turn one shadow rule of the set in force live, as a new version."""
    in_force = RuleStore(console.ws).current()
    candidate = with_rule_live(in_force, rule_id)
    if in_force.rule(rule_id).mode is Mode.LIVE:
        raise ActionRefused(f"rule {rule_id!r} is already live")
    return save_candidate(console, user, candidate, "rules_promoted", rule_id=rule_id)


def pin_version(console: Console, user: User, version: int) -> None:
    """Put a stored version back in force (a roll-back); audited."""
    store = RuleStore(console.ws)
    before = store.current_version()
    try:
        store.pin(version)
    except CardwatchError as exc:
        raise ActionRefused(str(exc)) from exc
    console.audit(user.username, "rules_pinned", "rules", version=version, previous=before)
