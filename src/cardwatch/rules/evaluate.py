"""A compiled rule set: judge one payment (live) or many rows (replay, backtest) the same way.

Compiling checks the set (so an unknown attribute is refused here, not on the first payment),
fixes Radar's evaluation order and prepares both evaluators from the same trees. The first live
rule that matches, in that order, decides; shadow rules are evaluated and reported, never decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from cardwatch.rules.check import Known
from cardwatch.rules.errors import RuleEvaluationError
from cardwatch.rules.ruleset import Rule, RuleAction, RuleSet
from cardwatch.rules.scalar import Truth, compile_condition
from cardwatch.rules.vector import Columns, column_truth
from cardwatch.schema import Action, Reason

__all__ = ["ColumnVerdict", "CompiledRuleSet", "Verdict", "compile_ruleset"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one payment: the deciding live rule (``None``: no rule decided, the model
    and the rest of the engine do) and every shadow rule that matched."""

    rule: Rule | None
    index: int
    shadow_hits: tuple[Rule, ...] = ()

    @property
    def action(self) -> RuleAction | None:
        return self.rule.action if self.rule else None


@dataclass(frozen=True, slots=True)
class ColumnVerdict:
    """The outcome for many rows: ``deciding[i]`` is the index (in ``ruleset.rules``) of the live
    rule that decides row ``i``, or -1; ``hits[r, i]`` tells whether rule ``r`` matched row ``i``
    (live and shadow rules alike, whether or not it decided)."""

    deciding: np.ndarray
    hits: np.ndarray


def _guard(rule: Rule, condition: Callable[[Mapping[str, object]], Truth]) -> Callable[..., Truth]:
    """Wrap a condition so that any failure names its rule and is never mistaken for a miss."""

    def run(values: Mapping[str, object]) -> Truth:
        try:
            return condition(values)
        except RuleEvaluationError as e:
            raise RuleEvaluationError(e.bare_message, rule.id) from None
        except Exception as e:  # a bug must stop the decision, not approve the payment
            raise RuleEvaluationError(f"{type(e).__name__}: {e}", rule.id) from e

    return run


class CompiledRuleSet:
    """A checked rule set ready to evaluate. Build with :func:`compile_ruleset`."""

    def __init__(self, ruleset: RuleSet, known: Known = None) -> None:
        ruleset.check(known)
        self.ruleset = ruleset
        self.attributes = ruleset.attributes
        self._order = ruleset.in_evaluation_order()
        lists = dict(ruleset.lists)
        self._conditions = [
            _guard(rule, compile_condition(rule.condition, lists)) for rule in ruleset.rules
        ]
        self._live = [(i, r, self._conditions[i]) for i, r in self._order if r.live]
        self._shadow = [(i, r, self._conditions[i]) for i, r in self._order if not r.live]

    def evaluate(self, values: Mapping[str, object]) -> Verdict:
        """Judge one payment. Raises :class:`RuleEvaluationError` if a rule it evaluates cannot
        be judged on these values (the payment must then not be approved on the rules' word)."""
        shadow = tuple(r for _, r, cond in self._shadow if cond(values) is True)
        for i, rule, cond in self._live:
            if cond(values) is True:
                return Verdict(rule, i, shadow)
        return Verdict(None, -1, shadow)

    def matches(self, values: Mapping[str, object]) -> tuple[bool, ...]:
        """For every rule (in ``ruleset.rules`` order), whether it matches this payment."""
        return tuple(cond(values) is True for cond in self._conditions)

    def evaluate_columns(
        self, columns: Mapping[str, np.ndarray] | Columns, n: int | None = None
    ) -> ColumnVerdict:
        """Judge every row of equal-length columns at once; agrees with :meth:`evaluate` row by
        row. Raises :class:`RuleEvaluationError` if any rule cannot be judged on any row.
        ``n`` (the row count) lets ``columns`` be a lazy mapping; see :class:`Columns`."""
        cols = columns if isinstance(columns, Columns) else Columns(columns, n)
        lists = dict(self.ruleset.lists)
        hits = np.zeros((len(self.ruleset.rules), cols.n), dtype=bool)
        for i, rule in enumerate(self.ruleset.rules):
            try:
                hits[i] = column_truth(rule.condition, cols, lists)[0]
            except RuleEvaluationError as e:
                raise RuleEvaluationError(e.bare_message, rule.id) from None
        deciding = np.full(cols.n, -1, dtype=np.int64)
        for i, _rule, _ in reversed(self._live):
            deciding[hits[i]] = i
        return ColumnVerdict(deciding, hits)

    # The engine's RuleEvaluator protocol (cardwatch.engine): actions as the decision's Action.

    def match(
        self, values: Mapping[str, object]
    ) -> tuple[Action | None, str | None, Reason | None]:
        """``(action, rule id, reason)`` of the deciding live rule, or three ``None``."""
        rule = self.evaluate(values).rule
        if rule is None:
            return None, None, None
        return rule.action.decision, rule.id, rule.reason

    def match_columns(
        self, columns: Mapping[str, np.ndarray], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the deciding rule's action code (``cardwatch.engine.ACTION_CODES``, -1: none)
        and its index in ``ruleset.rules`` (-1: none)."""
        from cardwatch.engine import ACTION_CODES  # the engine owns its codes

        deciding = self.evaluate_columns(columns, n).deciding
        codes = [ACTION_CODES[r.action.decision] for r in self.ruleset.rules]
        lookup = np.array([*codes, -1], dtype=np.int8)
        return lookup[deciding], deciding

    def reason_at(self, index: int) -> Reason:
        """The reason of rule ``index`` (an index given by :meth:`match_columns`)."""
        return self.ruleset.rules[index].reason


def compile_ruleset(ruleset: RuleSet, known: Known = None) -> CompiledRuleSet:
    """Check ``ruleset`` against the known attributes and prepare it for evaluation.

    >>> from cardwatch.rules.ruleset import Rule
    >>> s = compile_ruleset(RuleSet((
    ...     Rule.parse("big", "review if amount > 1000", "Large payment."),
    ...     Rule.parse("hot", "decline if score > 0.9", "Very high risk score."),
    ... )))
    >>> s.evaluate({"amount": 2000, "score": 0.95}).rule.id
    'hot'
    >>> cols = {"amount": np.array([2000.0, 5]), "score": np.array([0.5, 0.1])}
    >>> s.evaluate_columns(cols).deciding
    array([ 0, -1])
    """
    return CompiledRuleSet(ruleset, known)
