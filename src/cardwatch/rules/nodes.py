"""The syntax tree of a rule expression, shared by the scalar and the vectorised evaluators.

One tree, two evaluators: the live path and the backtest read the same nodes, so a rule cannot
mean one thing when it is measured and another when it decides. Nodes are frozen and compare by
value, which lets tests check that printing and re-parsing a tree gives the same tree.

Each node also records ``position``, the character of the rule text it came from (its operator
for an operation, its first character otherwise; -1 for a node built in code), so that the
checker can put a caret under the part of the rule it refuses. It takes no part in equality:
``a>1`` and ``a > 1`` are the same condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "Arith",
    "Attr",
    "Bool",
    "Compare",
    "Expr",
    "In",
    "ListLiteral",
    "ListRef",
    "Logic",
    "Neg",
    "Not",
    "Num",
    "Str",
    "attributes",
    "list_refs",
    "start",
    "to_source",
]


@dataclass(frozen=True, slots=True)
class Num:
    """A number literal; every number is a float, as in the vectorised path."""

    value: float
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Bool:
    """``true`` / ``false``: the numbers 1 and 0, so that ``exposed == true`` works on 0/1 flags."""

    value: bool
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Attr:
    """An attribute of the payment: a transaction field, a profile feature, ``score``…"""

    name: str
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[float | str, ...]
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ListRef:
    """``@name``: a named list of the rule set, resolved when the set is compiled."""

    name: str
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class In:
    left: Expr
    target: ListLiteral | ListRef
    negated: bool = False
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and | or
    left: Expr
    right: Expr
    position: int = field(default=-1, compare=False, repr=False)


Expr: TypeAlias = Num | Str | Bool | Attr | Neg | Arith | Compare | In | Not | Logic

# Binding strength for printing: higher binds tighter.
_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _ATOM = range(8)
_ARITH_LEVEL = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT}


def _number(value: float) -> str:
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _item(value: float | str) -> str:
    return _string(value) if isinstance(value, str) else _number(value)


def _source(node: Expr) -> tuple[str, int]:
    """The text of ``node`` and how tightly it binds, so the caller knows when to parenthesise."""
    match node:
        case Num(value):
            return _number(value), (_UNARY if value < 0 or math.copysign(1, value) < 0 else _ATOM)
        case Str(value):
            return _string(value), _ATOM
        case Bool(value):
            return ("true" if value else "false"), _ATOM
        case Attr(name):
            return name, _ATOM
        case Neg(operand):
            return "-" + _wrap(operand, _UNARY), _UNARY
        case Arith(op, left, right):
            level = _ARITH_LEVEL[op]
            # Left-associative: the right operand needs parentheses at the same level.
            return f"{_wrap(left, level)} {op} {_wrap(right, level + 1)}", level
        case Compare(op, left, right):
            return f"{_wrap(left, _SUM)} {op} {_wrap(right, _SUM)}", _CMP
        case In(left, target, negated):
            word = "not in" if negated else "in"
            if isinstance(target, ListRef):
                listed = "@" + target.name
            else:
                listed = "[" + ", ".join(_item(i) for i in target.items) + "]"
            return f"{_wrap(left, _SUM)} {word} {listed}", _CMP
        case Not(operand):
            return "not " + _wrap(operand, _NOT), _NOT
        case Logic(op, left, right):
            level = _AND if op == "and" else _OR
            return f"{_wrap(left, level)} {op} {_wrap(right, level + 1)}", level
    raise TypeError(f"not a rule expression node: {node!r}")


def _wrap(node: Expr, at_least: int) -> str:
    text, level = _source(node)
    return text if level >= at_least else f"({text})"


def to_source(node: Expr) -> str:
    """Canonical text of an expression; parsing it gives back an equal tree.

    >>> to_source(Logic("and", Compare(">", Attr("score"), Num(0.9)), Not(Attr("exposed"))))
    'score > 0.9 and not exposed'
    >>> to_source(Arith("*", Arith("+", Attr("a"), Num(1)), Num(5)))
    '(a + 1) * 5'
    """
    return _source(node)[0]


def _walk(node: Expr) -> list[Expr]:
    out: list[Expr] = [node]
    match node:
        case Neg(operand) | Not(operand):
            out += _walk(operand)
        case Arith(_, left, right) | Compare(_, left, right) | Logic(_, left, right):
            out += _walk(left) + _walk(right)
        case In(left, _, _):
            out += _walk(left)
    return out


def start(node: Expr) -> int:
    """The character where the text of ``node`` begins (-1 for a node built in code): an
    operation records its operator, so walk down to its leftmost operand.

    >>> from cardwatch.rules.parser import parse_expression
    >>> start(parse_expression("x  + 2 * y")), parse_expression("x  + 2 * y").position
    (0, 3)
    """
    while isinstance(node, Arith | Compare | Logic | In):
        node = node.left
    return node.position


def attributes(node: Expr) -> frozenset[str]:
    """Every attribute name an expression reads: what a caller must supply to evaluate it.

    >>> sorted(attributes(Compare(">", Attr("amount"), Arith("*", Num(5), Attr("mean")))))
    ['amount', 'mean']
    """
    return frozenset(n.name for n in _walk(node) if isinstance(n, Attr))


def list_refs(node: Expr) -> frozenset[str]:
    """Every named list (``@name``) an expression uses."""
    return frozenset(
        n.target.name for n in _walk(node) if isinstance(n, In) and isinstance(n.target, ListRef)
    )
