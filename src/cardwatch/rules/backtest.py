"""Backtest: what a candidate rule set would have done to past payments, beside the set in force.

The guard against the silent blanket block: before a rule goes live, it is run over history and
its cost is counted in the units that matter, not only the fraud it catches but the honest
payments it stops and the distinct honest cardholders it hurts. Pure: columns in, numbers out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from cardwatch.rules.check import Kind, Known
from cardwatch.rules.evaluate import ColumnVerdict, CompiledRuleSet, compile_ruleset
from cardwatch.rules.ruleset import EVALUATION_ORDER, RuleSet
from cardwatch.rules.vector import Columns
from cardwatch.rules.vocabulary import KNOWN_ATTRIBUTES

__all__ = ["ActionStats", "BacktestReport", "RuleStats", "SetStats", "backtest"]


@dataclass(frozen=True, slots=True)
class RuleStats:
    """One rule over the replayed rows. ``hits`` counts every row it matched; ``decided`` the
    rows where it was the live rule that decided (a rule earlier in the order may take a hit)."""

    rule_id: str
    action: str
    mode: str
    text: str
    hits: int
    decided: int
    frauds: int
    fraud_amount: float
    honest: int
    honest_cards: int


@dataclass(frozen=True, slots=True)
class ActionStats:
    """The rows a set decided with one action (by a live rule)."""

    rows: int
    frauds: int
    fraud_amount: float
    honest: int
    honest_cards: int


@dataclass(frozen=True, slots=True)
class SetStats:
    """A whole rule set over the replayed rows."""

    version: int | None
    by_action: dict[str, ActionStats]
    frauds_stopped: int  # fraud rows declined or challenged
    fraud_amount_stopped: float
    honest_declined: int
    honest_challenged: int
    honest_decline_rate: float  # over all honest rows
    honest_challenge_rate: float
    honest_cards_hurt: int  # distinct cards with an honest payment declined or challenged
    rules: tuple[RuleStats, ...]


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """Candidate and baseline side by side over the same rows."""

    rows: int
    frauds: int
    fraud_amount: float
    honest: int
    candidate: SetStats
    baseline: SetStats

    def rule_pairs(self) -> list[tuple[str, RuleStats | None, RuleStats | None]]:
        """``(rule_id, candidate stats, baseline stats)`` for every rule of either set,
        candidate's rules first; ``None`` where a set has no such rule."""
        cand = {r.rule_id: r for r in self.candidate.rules}
        base = {r.rule_id: r for r in self.baseline.rules}
        ids = list(cand) + [i for i in base if i not in cand]
        return [(i, cand.get(i), base.get(i)) for i in ids]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


class _Rows:
    """The labels, amounts and card codes every count is taken over."""

    def __init__(self, labels: Any, amounts: Any, card_ids: Any) -> None:
        raw = np.asarray(labels, dtype=np.float64)
        self.fraud = np.nan_to_num(raw, nan=0.0) > 0.5
        self.honest = ~self.fraud
        self.amount = np.nan_to_num(np.asarray(amounts, dtype=np.float64), nan=0.0)
        codes, uniques = pd.factorize(pd.Series(np.asarray(card_ids, dtype=object)))
        self.cards = np.asarray(codes)
        self.n_cards = len(uniques)
        if not (len(self.fraud) == len(self.amount) == len(self.cards)):
            raise ValueError("labels, amounts and card_ids must have the same length")

    def distinct_cards(self, mask: np.ndarray) -> int:
        codes = self.cards[mask]
        codes = codes[codes >= 0]  # a missing card id is not a cardholder
        return int(np.count_nonzero(np.bincount(codes, minlength=1)))

    def frauds(self, mask: np.ndarray) -> tuple[int, float]:
        caught = mask & self.fraud
        return int(caught.sum()), float(self.amount[caught].sum())


def _set_stats(compiled: CompiledRuleSet, verdict: ColumnVerdict, rows: _Rows) -> SetStats:
    rules = compiled.ruleset.rules
    per_rule = []
    for i, rule in enumerate(rules):
        hit = verdict.hits[i]
        frauds, fraud_amount = rows.frauds(hit)
        honest_hit = hit & rows.honest
        per_rule.append(
            RuleStats(
                rule_id=rule.id,
                action=rule.action.value,
                mode=rule.mode.value,
                text=rule.text,
                hits=int(hit.sum()),
                decided=int((verdict.deciding == i).sum()),
                frauds=frauds,
                fraud_amount=fraud_amount,
                honest=int(honest_hit.sum()),
                honest_cards=rows.distinct_cards(honest_hit),
            )
        )
    action_of_rule = np.array([r.action.value for r in rules] + [""], dtype=object)
    decided_action = action_of_rule[verdict.deciding]  # -1 picks the trailing ""
    by_action: dict[str, ActionStats] = {}
    masks: dict[str, np.ndarray] = {}
    for action in EVALUATION_ORDER:
        mask = decided_action == action.value
        masks[action.value] = mask
        frauds, fraud_amount = rows.frauds(mask)
        by_action[action.value] = ActionStats(
            rows=int(mask.sum()),
            frauds=frauds,
            fraud_amount=fraud_amount,
            honest=int((mask & rows.honest).sum()),
            honest_cards=rows.distinct_cards(mask & rows.honest),
        )
    stopped = masks["decline"] | masks["challenge"]
    frauds_stopped, amount_stopped = rows.frauds(stopped)
    n_honest = int(rows.honest.sum())
    honest_declined = by_action["decline"].honest
    honest_challenged = by_action["challenge"].honest
    return SetStats(
        version=compiled.ruleset.version,
        by_action=by_action,
        frauds_stopped=frauds_stopped,
        fraud_amount_stopped=amount_stopped,
        honest_declined=honest_declined,
        honest_challenged=honest_challenged,
        honest_decline_rate=honest_declined / n_honest if n_honest else 0.0,
        honest_challenge_rate=honest_challenged / n_honest if n_honest else 0.0,
        honest_cards_hurt=rows.distinct_cards(stopped & rows.honest),
        rules=tuple(per_rule),
    )


def column_kinds(columns: Mapping[str, np.ndarray], read: frozenset[str]) -> dict[str, Kind]:
    """The kind of every column, for checking rule sets against the replayed rows.

    Taken from the dtype where it tells (numbers, fixed-width strings), else from the engine's
    vocabulary (Arrow strings arrive as ``object`` arrays): checked against names alone,
    ``amount == "abc"`` would pass and then silently never fire in the backtest. Only the
    columns some rule reads (``read``) are looked at, so a lazy mapping computes no other.

    >>> column_kinds({"amount": np.zeros(2), "mcc": np.array(["5411"], dtype=object),
    ...               "x": np.array([None], dtype=object)}, frozenset({"amount", "mcc", "x"}))
    {'amount': <Kind.NUMBER: 'number'>, 'mcc': <Kind.STRING: 'string'>, 'x': <Kind.ANY: 'any'>}
    """
    kinds: dict[str, Kind] = {}
    for name in columns:
        dtype = getattr(columns[name], "dtype", None) if name in read else None
        if dtype is not None and dtype.kind in "biuf":
            kinds[name] = Kind.NUMBER
        elif dtype is not None and dtype.kind in "US":
            kinds[name] = Kind.STRING
        else:
            kinds[name] = Kind(KNOWN_ATTRIBUTES.get(name, Kind.ANY))
    return kinds


def backtest(
    columns: Mapping[str, np.ndarray],
    labels: Sequence[float] | np.ndarray,
    amounts: Sequence[float] | np.ndarray,
    card_ids: Sequence[object] | np.ndarray,
    candidate: RuleSet | CompiledRuleSet,
    baseline: RuleSet | CompiledRuleSet,
    known: Known = None,
) -> BacktestReport:
    """Run ``candidate`` and ``baseline`` over the same replayed rows and count, for each set and
    each rule: hits, frauds caught (count and amount), honest payments hit, distinct honest
    cardholders hurt; and for each set the decline and challenge rates of honest payments.

    ``columns`` hold every attribute the rules read (features and ``score``) for each row;
    ``labels`` are the known fraud flags (0/1, missing counts as honest). Rule sets are checked
    against ``known`` (default: the columns and their kinds, :func:`column_kinds`), so a rule
    reading a column the replay does not produce, or comparing a number column with a string, is
    refused before anything is counted.

    >>> from cardwatch.rules.ruleset import Rule
    >>> cand = RuleSet((Rule.parse("hot", "decline if score > 0.5", "High score."),))
    >>> r = backtest({"score": np.array([0.9, 0.8, 0.1])}, [1, 0, 0], [10.0, 20.0, 30.0],
    ...              ["c1", "c2", "c2"], cand, RuleSet(()))
    >>> r.candidate.rules[0].frauds, r.candidate.rules[0].honest_cards, r.baseline.frauds_stopped
    (1, 1, 0)
    """
    rows = _Rows(labels, amounts, card_ids)
    if known is None:
        read = frozenset().union(
            *(
                rs.ruleset.attributes if isinstance(rs, CompiledRuleSet) else rs.attributes
                for rs in (candidate, baseline)
            )
        )
        checked_against: Known = column_kinds(columns, read)
    else:
        checked_against = known
    cols = Columns(columns)
    if cols.n != len(rows.fraud):
        raise ValueError("columns and labels must have the same length")
    stats = []
    for rs in (candidate, baseline):
        compiled = rs if isinstance(rs, CompiledRuleSet) else compile_ruleset(rs, checked_against)
        stats.append(_set_stats(compiled, compiled.evaluate_columns(cols), rows))
    return BacktestReport(
        rows=cols.n,
        frauds=int(rows.fraud.sum()),
        fraud_amount=float(rows.amount[rows.fraud].sum()),
        honest=int(rows.honest.sum()),
        candidate=stats[0],
        baseline=stats[1],
    )
