"""Rules and rule sets: what an analyst writes, checked before it can decide anything.

A rule is an id, a condition, an action, a plain-language description (the reason a cardholder
or an analyst is shown) and a mode: ``live`` rules decide, ``shadow`` rules are only counted, so a
new rule can be watched on real traffic before it is allowed to hurt anyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cardwatch.rules.check import Known, check_expression, known_kinds
from cardwatch.rules.errors import RuleDefinitionError, RuleSyntaxError
from cardwatch.rules.nodes import Expr, attributes, to_source
from cardwatch.rules.parser import parse_rule
from cardwatch.schema import Action, Reason

__all__ = ["EVALUATION_ORDER", "Mode", "Rule", "RuleAction", "RuleSet"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


class RuleAction(StrEnum):
    """What a matching rule does. ``review`` raises an alert and lets the payment through."""

    ALLOW = "allow"
    CHALLENGE = "challenge"
    DECLINE = "decline"
    REVIEW = "review"

    @property
    def decision(self) -> Action:
        """The decision's action: ``allow`` approves, ``review`` approves with an alert."""
        return _DECISION[self]


_DECISION = {
    RuleAction.ALLOW: Action.APPROVE,
    RuleAction.CHALLENGE: Action.CHALLENGE,
    RuleAction.DECLINE: Action.DECLINE,
    RuleAction.REVIEW: Action.REVIEW,
}
#: Radar's order: allow, then request 3DS (challenge), then block (decline), then review.
EVALUATION_ORDER = (RuleAction.ALLOW, RuleAction.CHALLENGE, RuleAction.DECLINE, RuleAction.REVIEW)
_ALIASES = {"block": RuleAction.DECLINE, "request_3ds": RuleAction.CHALLENGE}


class Mode(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"


def _action(word: str, rule_id: str) -> RuleAction:
    if word in _ALIASES:
        return _ALIASES[word]
    try:
        return RuleAction(word)
    except ValueError:
        choices = ", ".join(a.value for a in RuleAction)
        raise RuleDefinitionError(f"unknown action {word!r} (one of {choices})", rule_id) from None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. Build it with :meth:`parse` from its text."""

    id: str
    action: RuleAction
    condition: Expr
    description: str
    mode: Mode = Mode.LIVE
    #: The rule as written (``Rule.parse``'s text): node positions point into it, so that an
    #: error can show the analyst's own text; not part of equality (the canonical text is).
    source: str = field(default="", compare=False, repr=False)

    @classmethod
    def parse(cls, id: str, text: str, description: str, mode: str = "live") -> Rule:
        """A rule from ``ACTION if CONDITION``.

        >>> Rule.parse("big", "block if :amount: > 500", "Large amount.").text
        'decline if amount > 500'
        """
        if not _ID.match(id):
            raise RuleDefinitionError(
                "an id is a letter then up to 63 letters, digits, '_', '.' or '-'", id
            )
        if not description.strip():
            raise RuleDefinitionError("a rule needs a description: it is the reason shown", id)
        try:
            chosen = Mode(mode)
        except ValueError:
            raise RuleDefinitionError(f"mode is 'live' or 'shadow', not {mode!r}", id) from None
        try:
            word, condition = parse_rule(text)
        except RuleSyntaxError as e:
            raise RuleSyntaxError(e.bare_message, e.text, e.position, id) from None
        return cls(id, _action(word, id), condition, description.strip(), chosen, text)

    @property
    def text(self) -> str:
        """The rule in canonical form (what ``rules show`` prints and a file stores)."""
        return f"{self.action.value} if {to_source(self.condition)}"

    @property
    def reason(self) -> Reason:
        """The reason a decision taken by this rule carries."""
        return Reason(code=f"rule:{self.id}", message=self.description)

    @property
    def live(self) -> bool:
        return self.mode is Mode.LIVE


@dataclass(frozen=True)
class RuleSet:
    """An ordered set of rules with its named lists; ``version`` is set by the store."""

    rules: tuple[Rule, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""
    version: int | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise RuleDefinitionError("the same id is used twice", rule.id)
            seen.add(rule.id)
        for name, items in self.lists.items():
            if not _ID.match(name):
                raise RuleDefinitionError(f"bad list name {name!r}")
            if not isinstance(items, tuple) or not all(isinstance(i, str) for i in items):
                raise RuleDefinitionError(f"list @{name} must be a tuple of strings")

    @property
    def attributes(self) -> frozenset[str]:
        """Every attribute some rule reads: what an evaluator must be given."""
        return frozenset().union(*(attributes(r.condition) for r in self.rules))

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def check(self, known: Known = None) -> None:
        """Raise :class:`RuleDefinitionError` for the first rule that cannot be trusted: unknown
        attribute (when ``known`` is given), undefined list, values of the wrong kind, or a
        condition that is not a truth value; the message shows the rule with a caret.

        >>> s = RuleSet((Rule.parse("r", "review if scre > 0.9", "High score."),))
        >>> s.check(known=["score"])
        Traceback (most recent call last):
        ...
        cardwatch.rules.errors.RuleDefinitionError: rule 'r': unknown attribute 'scre' at column 11:
          review if scre > 0.9
                    ^
        """
        kinds = known_kinds(known)
        for rule in self.rules:
            try:
                check_expression(rule.condition, kinds, self.lists)
            except RuleDefinitionError as e:
                # The caret points into the text as the analyst wrote it; a rule built in code
                # has none, and then the message names the rule only.
                text = rule.source or None
                raise RuleDefinitionError(
                    e.bare_message, rule.id, text=text, position=e.position
                ) from None

    def in_evaluation_order(self) -> list[tuple[int, Rule]]:
        """``(index, rule)`` pairs sorted as Radar evaluates: by action, then by file order."""
        rank = {a: i for i, a in enumerate(EVALUATION_ORDER)}
        return sorted(enumerate(self.rules), key=lambda p: (rank[p[1].action], p[0]))
