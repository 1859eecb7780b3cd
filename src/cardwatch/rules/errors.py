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


def _located(message: str, rule_id: str | None, text: str | None, position: int | None) -> str:
    """``rule 'id': message at column N:`` with the rule's text and a caret under column N: the
    form every error about a rule's text takes, so the analyst sees which character is wrong."""
    where = f"rule {rule_id!r}: " if rule_id else ""
    if text is None or position is None or position < 0:
        return f"{where}{message}"
    caret = " " * position + "^"
    return f"{where}{message} at column {position + 1}:\n  {text}\n  {caret}"


class RuleSyntaxError(RuleError):
    """The text of a rule is not in the language; ``position`` is the offending character."""

    def __init__(self, message: str, text: str, position: int, rule_id: str | None = None) -> None:
        self.text = text
        self.position = position
        self.bare_message = message
        self.rule_id = rule_id
        super().__init__(_located(message, rule_id, text, position))


class RuleDefinitionError(RuleError):
    """A rule or a rule set is well formed but wrong: unknown attribute or list, type mismatch,
    a condition that is not a truth value, duplicate id, bad action or mode.

    ``position`` is the offending character of the rule's ``text`` when the error is about a
    part of the rule (the checker sets it, the rule set adds the text); then the message shows
    the text with a caret, like a :class:`RuleSyntaxError`."""

    def __init__(
        self,
        message: str,
        rule_id: str | None = None,
        *,
        text: str | None = None,
        position: int | None = None,
    ) -> None:
        self.rule_id = rule_id
        self.bare_message = message
        self.text = text
        self.position = position
        super().__init__(_located(message, rule_id, text, position))


class RuleEvaluationError(RuleError):
    """A rule could not be judged on the values given (attribute not supplied, a string where a
    number is needed); the caller must treat the payment as undecided, not approved."""

    def __init__(self, message: str, rule_id: str | None = None) -> None:
        self.rule_id = rule_id
        self.bare_message = message
        super().__init__(f"rule {rule_id!r}: {message}" if rule_id else message)
