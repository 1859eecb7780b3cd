"""Evaluate an expression on one payment's values: the live path, a few closures per rule.

The tree is turned once into nested closures, so judging a payment is a handful of Python calls
per rule, with no tree walk and no ``eval``. Every part of a rule is evaluated (no
short-circuit inside a rule), so that a rule that cannot be judged on some values fails the same
way here and in :mod:`cardwatch.rules.vector`. Semantics: :mod:`cardwatch.rules.values`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from cardwatch.rules.errors import RuleDefinitionError, RuleEvaluationError
from cardwatch.rules.nodes import (
    Arith,
    Attr,
    Bool,
    Compare,
    Expr,
    In,
    ListLiteral,
    Logic,
    Neg,
    Not,
    Num,
    Str,
)
from cardwatch.rules.values import Value, normalise

__all__ = ["Truth", "compile_condition"]

Values = Mapping[str, object]
Truth = bool | None
_ValueFn = Callable[[Values], Value]
_TruthFn = Callable[[Values], Truth]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _attr(name: str) -> _ValueFn:
    def get(values: Values) -> Value:
        try:
            v = values[name]
        except KeyError:
            raise RuleEvaluationError(f"attribute {name!r} was not supplied") from None
        t = type(v)
        if t is float:
            return None if v != v else v  # type: ignore[return-value]
        if t is str:
            return v  # type: ignore[return-value]
        return normalise(v, name)

    return get


def _const(value: Value) -> _ValueFn:
    return lambda values: value


def _number(value: Value, what: str) -> float:
    if isinstance(value, str):
        raise RuleEvaluationError(f"{what} needs numbers, got the string {value!r}")
    return value  # type: ignore[return-value]


def _arith(op: str, fa: _ValueFn, fb: _ValueFn) -> _ValueFn:
    what = f"'{op}'"

    def run(values: Values) -> Value:
        a, b = fa(values), fb(values)
        if a is None or b is None:
            return None
        x, y = _number(a, what), _number(b, what)
        if op == "+":
            r = x + y
        elif op == "-":
            r = x - y
        elif op == "*":
            r = x * y
        elif y == 0:
            return None
        else:
            r = x / y
        return None if r != r else r

    return run


def _neg(fa: _ValueFn) -> _ValueFn:
    def run(values: Values) -> Value:
        a = fa(values)
        return None if a is None else -_number(a, "'-'")

    return run


def _compare(op: str, fa: _ValueFn, fb: _ValueFn) -> _TruthFn:
    if op in ("==", "!="):
        want = op == "=="

        def equal(values: Values) -> Truth:
            a, b = fa(values), fb(values)
            if a is None or b is None:
                return None
            return (a == b) is want

        return equal
    compare = _ORDER[op]
    what = f"'{op}'"

    def order(values: Values) -> Truth:
        a, b = fa(values), fb(values)
        if a is None or b is None:
            return None
        return bool(compare(_number(a, what), _number(b, what)))

    return order


def _member(fa: _ValueFn, items: tuple[object, ...], negated: bool) -> _TruthFn:
    strings = frozenset(i for i in items if isinstance(i, str))
    numbers = frozenset(float(i) for i in items if not isinstance(i, str))  # type: ignore[arg-type]

    def run(values: Values) -> Truth:
        a = fa(values)
        if a is None:
            return None
        found = a in strings if isinstance(a, str) else a in numbers
        return found is not negated

    return run


def _truth_of(fa: _ValueFn) -> _TruthFn:
    def run(values: Values) -> Truth:
        a = fa(values)
        if a is None:
            return None
        if isinstance(a, str):
            raise RuleEvaluationError(f"the string {a!r} is not a condition")
        return a != 0

    return run


def _not(fa: _TruthFn) -> _TruthFn:
    def run(values: Values) -> Truth:
        a = fa(values)
        return None if a is None else not a

    return run


def _and(fa: _TruthFn, fb: _TruthFn) -> _TruthFn:
    def run(values: Values) -> Truth:
        a, b = fa(values), fb(values)
        if a is False or b is False:
            return False
        if a is None or b is None:
            return None
        return True

    return run


def _or(fa: _TruthFn, fb: _TruthFn) -> _TruthFn:
    def run(values: Values) -> Truth:
        a, b = fa(values), fb(values)
        if a is True or b is True:
            return True
        if a is None or b is None:
            return None
        return False

    return run


def _value(node: Expr, lists: Mapping[str, tuple[str, ...]]) -> _ValueFn:
    match node:
        case Num(value):
            return _const(float(value))
        case Bool(value):
            return _const(1.0 if value else 0.0)
        case Str(value):
            return _const(value)
        case Attr(name):
            return _attr(name)
        case Neg(operand):
            return _neg(_value(operand, lists))
        case Arith(op, left, right):
            return _arith(op, _value(left, lists), _value(right, lists))
    raise RuleDefinitionError("a comparison cannot be used as a value; combine with and/or")


def _truth(node: Expr, lists: Mapping[str, tuple[str, ...]]) -> _TruthFn:
    match node:
        case Compare(op, left, right):
            return _compare(op, _value(left, lists), _value(right, lists))
        case In(left, target, negated):
            items = target.items if isinstance(target, ListLiteral) else lists[target.name]
            return _member(_value(left, lists), tuple(items), negated)
        case Not(operand):
            return _not(_truth(operand, lists))
        case Logic(op, left, right):
            combine = _and if op == "and" else _or
            return combine(_truth(left, lists), _truth(right, lists))
    return _truth_of(_value(node, lists))


def compile_condition(
    node: Expr, lists: Mapping[str, tuple[str, ...]] | None = None
) -> Callable[[Mapping[str, object]], Truth]:
    """A function giving the truth of ``node`` on one payment's values: ``True``, ``False`` or
    ``None`` (unknown, because a value it needs is missing).

    >>> from cardwatch.rules.parser import parse_expression
    >>> f = compile_condition(parse_expression('amount > 5 * mean and country in @risky'),
    ...                       {'risky': ('XX',)})
    >>> f({'amount': 600, 'mean': 100.0, 'country': 'XX'}), f({'amount': 600, 'mean': None,
    ...   'country': 'XX'}), f({'amount': 600, 'mean': None, 'country': 'GB'})
    (True, None, False)
    """
    return _truth(node, lists or {})
