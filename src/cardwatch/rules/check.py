"""Static checks of an expression: known attributes, defined lists, and kinds of values.

Run when a rule set is compiled (and so when it is saved), so that a typo (``scroe > 0.9``) or a
nonsense comparison (``merchant_country > 5``) is refused while the analyst is still at the
keyboard, instead of quietly never firing on live payments.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from cardwatch.rules.errors import RuleDefinitionError
from cardwatch.rules.nodes import (
    Arith,
    Attr,
    Bool,
    Compare,
    Expr,
    In,
    ListLiteral,
    ListRef,
    Logic,
    Neg,
    Not,
    Num,
    Str,
    start,
    to_source,
)

__all__ = ["Kind", "Known", "check_expression", "known_kinds"]


class Kind(StrEnum):
    """What an expression yields: a number, a string, either (an attribute of unknown kind), or a
    truth value (a comparison or a logical combination)."""

    NUMBER = "number"
    STRING = "string"
    ANY = "any"
    LOGIC = "logic"


#: Known attributes: names with their kinds, or just names (kind unknown), or ``None`` (no check).
Known = Mapping[str, str] | Collection[str] | None


def known_kinds(known: Known) -> dict[str, Kind] | None:
    """Normalise the accepted forms of a known-attribute set.

    >>> known_kinds({"amount": "number"}), known_kinds(["mcc"])
    ({'amount': <Kind.NUMBER: 'number'>}, {'mcc': <Kind.ANY: 'any'>})
    """
    if known is None:
        return None
    if isinstance(known, Mapping):
        return {name: Kind(kind) for name, kind in known.items()}
    return dict.fromkeys(known, Kind.ANY)


def _refuse(message: str, node: Expr | ListRef, at_start: bool = False) -> RuleDefinitionError:
    """The error for ``node``, pointing at its operator (or, ``at_start``, at its first
    character) so the caller can show the rule's text with a caret there."""
    return RuleDefinitionError(message, position=start(node) if at_start else node.position)


def _value(node: Expr, kinds: Mapping[str, Kind] | None, lists: Mapping[str, object]) -> Kind:
    kind = _kind(node, kinds, lists)
    if kind is Kind.LOGIC:
        raise _refuse("a comparison cannot be used as a value; combine with and/or", node)
    return kind


def _number(
    node: Expr, kinds: Mapping[str, Kind] | None, lists: Mapping[str, object], why: str
) -> None:
    if _value(node, kinds, lists) is Kind.STRING:
        raise _refuse(f"{why} needs numbers, not a string", node, at_start=True)


def _kind(node: Expr, kinds: Mapping[str, Kind] | None, lists: Mapping[str, object]) -> Kind:
    match node:
        case Num() | Bool():
            return Kind.NUMBER
        case Str():
            return Kind.STRING
        case Attr(name):
            if kinds is None:
                return Kind.ANY
            if name not in kinds:
                raise _refuse(f"unknown attribute {name!r}", node)
            return kinds[name]
        case Neg(operand):
            _number(operand, kinds, lists, "'-'")
            return Kind.NUMBER
        case Arith(op, left, right):
            _number(left, kinds, lists, f"'{op}'")
            _number(right, kinds, lists, f"'{op}'")
            return Kind.NUMBER
        case Compare(op, left, right):
            a, b = _value(left, kinds, lists), _value(right, kinds, lists)
            if op in ("==", "!="):
                if {a, b} == {Kind.NUMBER, Kind.STRING}:
                    # Never true (or, with '!=', always): the rule would silently do nothing.
                    raise _refuse(f"'{op}' compares a number with a string", node)
            elif Kind.STRING in (a, b):
                raise _refuse(
                    f"'{op}' needs numbers, not a string", left if a is Kind.STRING else right, True
                )
            return Kind.LOGIC
        case In(left, target):
            a = _value(left, kinds, lists)
            if isinstance(target, ListLiteral):
                items: tuple[object, ...] = target.items
            else:
                if target.name not in lists:
                    raise _refuse(f"unknown list @{target.name}", target)
                items = tuple(lists[target.name])  # type: ignore[call-overload]
            item_kinds = {Kind.STRING if isinstance(i, str) else Kind.NUMBER for i in items}
            if a is not Kind.ANY and item_kinds and a not in item_kinds:
                found = " and ".join(sorted(k.value + "s" for k in item_kinds))
                raise _refuse(f"'in' looks for a {a.value} in a list of {found}", node)
            return Kind.LOGIC
        case Not(operand):
            _truth(operand, kinds, lists)
            return Kind.LOGIC
        case Logic(_, left, right):
            _truth(left, kinds, lists)
            _truth(right, kinds, lists)
            return Kind.LOGIC
    raise TypeError(f"not a rule expression node: {node!r}")


_WHAT = {Kind.NUMBER: "a number", Kind.STRING: "a string", Kind.ANY: "a value"}


def _truth(node: Expr, kinds: Mapping[str, Kind] | None, lists: Mapping[str, object]) -> None:
    """A condition must be a comparison, ``in``, or ``not``/``and``/``or`` of those: a bare
    value (``decline if amount``) would be true for every non-zero amount and decline nearly
    every payment, which is never what the analyst meant."""
    kind = _kind(node, kinds, lists)
    if kind is not Kind.LOGIC:
        text = to_source(node)
        if len(text) > 30:
            text = "x"
        hint = f'{text} == "..."' if kind is Kind.STRING else f"{text} > 0"
        raise _refuse(
            f"{_WHAT[kind]} is not a condition: compare it (e.g. '{hint}')", node, at_start=True
        )


def check_expression(
    node: Expr, known: Mapping[str, Kind] | None, lists: Mapping[str, object]
) -> None:
    """Raise :class:`RuleDefinitionError` if ``node`` cannot be a rule's condition; its
    ``position`` is the offending character of the text ``node`` was parsed from (-1 for a tree
    built in code); :meth:`RuleSet.check` shows that text with a caret there.

    >>> from cardwatch.rules.parser import parse_expression
    >>> check_expression(parse_expression('merchant_country > 5'), {'merchant_country':
    ...     Kind.STRING}, {})
    Traceback (most recent call last):
    ...
    cardwatch.rules.errors.RuleDefinitionError: '>' needs numbers, not a string
    """
    _truth(node, known, lists)
