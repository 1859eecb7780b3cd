"""Errors of the rule language, all under :class:`cardwatch.errors.CardwatchError`.

Kept here, beside the language, until they move into ``cardwatch/errors.py``; three kinds because
the three moments differ: a typo when a rule is typed (syntax), a rule set that cannot be trusted
when it is saved (definition), and a value the rule cannot judge when a payment arrives
(evaluation). The last must surface, never be skipped: skipping a failing decline rule would
silently approve.
"""

from __future__ import annotations

from cardwatch.errors import CardwatchError

__all__ = ["RuleDefinitionError", "RuleError", "RuleEvaluationError", "RuleSyntaxError"]


class RuleError(CardwatchError):
    """Base of every rule-language error."""


class RuleSyntaxError(RuleError):
    """The text of a rule is not in the language; ``position`` is the offending character."""

    def __init__(self, message: str, text: str, position: int, rule_id: str | None = None) -> None:
        self.text = text
        self.position = position
        self.bare_message = message
        self.rule_id = rule_id
        caret = " " * position + "^"
        where = f"rule {rule_id!r}: " if rule_id else ""
        super().__init__(f"{where}{message} at column {position + 1}:\n  {text}\n  {caret}")


class RuleDefinitionError(RuleError):
    """A rule or a rule set is well formed but wrong: unknown attribute or list, type mismatch,
    duplicate id, bad action or mode."""

    def __init__(self, message: str, rule_id: str | None = None) -> None:
        self.rule_id = rule_id
        self.bare_message = message
        super().__init__(f"rule {rule_id!r}: {message}" if rule_id else message)


class RuleEvaluationError(RuleError):
    """A rule could not be judged on the values given (attribute not supplied, a string where a
    number is needed); the caller must treat the payment as undecided, not approved."""

    def __init__(self, message: str, rule_id: str | None = None) -> None:
        self.rule_id = rule_id
        self.bare_message = message
        super().__init__(f"rule {rule_id!r}: {message}" if rule_id else message)
