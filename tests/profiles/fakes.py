"""Test doubles for the engine: a tiny linear scorer and a rule set of Python predicates.

Both honour the contracts the real ones must: ``score_batch`` equals ``score`` row for row (each
row is computed by the same element-wise expression), and ``match_columns`` equals ``match``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from cardwatch.engine import ACTION_CODES, CardControls, ExposureFlags
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Action, Reason

#: (feature, weight): declines weigh heavily, so decisions feed back into later scores.
WEIGHTS = (
    ("card_txn_count_1h", 0.8),
    ("amount_ratio_to_mean", 0.5),
    ("first_time_merchant", 0.6),
    ("cross_border", 0.7),
    ("card_declines_24h", 1.5),
    ("merchant_fraud_rate", 3.0),
    ("magstripe_on_chip", 1.0),
)
BIAS = -3.0


class LinearScorer:
    """Logistic of a few weighted features."""

    def _raw(self, X: np.ndarray) -> np.ndarray:
        total = np.full(X.shape[0], BIAS)
        for name, w in WEIGHTS:
            total = total + w * X[:, FEATURE_INDEX[name]]
        return 1.0 / (1.0 + np.exp(-total))

    def score(self, x: np.ndarray) -> float:
        return float(self._raw(x[None, :])[0])

    def score_batch(self, X: np.ndarray) -> np.ndarray:
        return self._raw(X)

    def reasons(self, x: np.ndarray, k: int) -> list[Reason]:
        parts = sorted(((w * x[FEATURE_INDEX[n]], n) for n, w in WEIGHTS), reverse=True)
        return [Reason(n, f"{n} is high") for c, n in parts[:k] if c > 0]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    action: Action
    test: Callable[[Mapping[str, Any]], Any]  # works on scalars and on NumPy columns


class ListRules:
    """Rules in Radar order (allow, challenge, decline, review); the first match decides."""

    ORDER = (Action.APPROVE, Action.CHALLENGE, Action.DECLINE, Action.REVIEW)

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = sorted(rules, key=lambda r: self.ORDER.index(r.action))

    def match(self, values: Mapping[str, Any]) -> tuple[Action | None, str | None, Reason | None]:
        for i, rule in enumerate(self.rules):
            if bool(rule.test(values)):
                return rule.action, rule.rule_id, self.reason_at(i)
        return None, None, None

    def match_columns(
        self, columns: Mapping[str, np.ndarray], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        actions = np.full(n, -1, np.int8)
        index = np.full(n, -1, np.int64)
        for i, rule in enumerate(self.rules):
            hit = np.asarray(rule.test(columns), dtype=bool) & (index < 0)
            actions[hit] = ACTION_CODES[rule.action]
            index[hit] = i
        return actions, index

    def reason_at(self, index: int) -> Reason:
        rule = self.rules[index]
        return Reason(f"rule:{rule.rule_id}", f"rule {rule.rule_id} matched")


def _is(values: Mapping[str, Any], name: str, value: str) -> Any:
    v = values[name]
    return (v == value) if not isinstance(v, np.ndarray) else np.equal(v, value)


SAMPLE_RULES = ListRules(
    [
        Rule(
            "allow_m0_small",
            Action.APPROVE,
            lambda v: _is(v, "merchant_id", "m0") & (v["amount"] < 15),
        ),
        Rule("burst", Action.CHALLENGE, lambda v: v["card_txn_count_1h"] >= 4),
        Rule(
            "big_new",
            Action.DECLINE,
            lambda v: (v["amount_ratio_to_mean"] > 4) & (v["first_time_merchant"] == 1),
        ),
        Rule("abroad", Action.REVIEW, lambda v: v["cross_border"] == 1),
        Rule(
            "high_score_exposed", Action.DECLINE, lambda v: (v["exposed"] == 1) & (v["score"] > 0.2)
        ),
    ]
)


class DictControls:
    """Controls per card, constant in time."""

    def __init__(self, by_card: dict[str, CardControls]) -> None:
        self.by_card = by_card

    def for_card(self, card_id: str, at: datetime) -> CardControls | None:
        return self.by_card.get(card_id)

    def card_ids(self) -> list[str]:
        return list(self.by_card)


class WindowExposure:
    """Cards exposed from a given instant on."""

    def __init__(self, since: dict[str, tuple[datetime, bool]]) -> None:
        self.since = since

    def flags(self, card_id: str, at: datetime) -> ExposureFlags:
        got = self.since.get(card_id)
        if got is None or at < got[0]:
            return ExposureFlags()
        return ExposureFlags(exposed=True, counterfeit_risk=got[1])

    def card_ids(self) -> list[str]:
        return list(self.since)


__all__ = ["SAMPLE_RULES", "DictControls", "LinearScorer", "ListRules", "Rule", "WindowExposure"]
