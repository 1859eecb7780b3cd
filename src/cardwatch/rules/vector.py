"""Evaluate an expression over columns: the replay and backtest path, millions of rows at once.

Same tree and same semantics as :mod:`cardwatch.rules.scalar` (see :mod:`cardwatch.rules.values`),
computed with NumPy. A value column is held as a float array (NaN where the row is not a number)
beside an optional object array of strings; a truth column as two masks, *true* and *false*
(a row in neither is unknown). If any row cannot be judged, the whole evaluation raises, as the
scalar path raises for that row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
from cardwatch.rules.values import normalise

__all__ = ["Columns", "column_truth", "evaluate_condition"]

_Array = np.ndarray
_NAN = np.float64("nan")


@dataclass(slots=True)
class _Vec:
    """A value per row; arrays may be scalars, broadcast against the row count at the end."""

    num: _Array | np.float64  # the number, NaN where the row is not a present number
    txt: _Array | str | None = None  # the string where the row is one; None: no row is a string
    is_txt: _Array | bool = False

    def missing(self) -> _Array | np.bool_:
        return np.isnan(self.num) & ~np.asarray(self.is_txt)


@dataclass(slots=True)
class _Truth:
    true: _Array | np.bool_
    false: _Array | np.bool_


class Columns:
    """Attribute columns of equal length, normalised once and shared by every rule of a set.

    ``columns`` may be a lazy mapping (the replay builds a column only when asked for it); give
    ``n`` then, so that no column is built just to learn the row count.
    """

    def __init__(self, columns: Mapping[str, _Array], n: int | None = None) -> None:
        self._raw = columns
        self._cache: dict[str, _Vec] = {}
        if n is None:
            lengths = {len(np.asarray(c)) for c in columns.values()}
            if len(lengths) > 1:
                raise RuleEvaluationError(f"columns have different lengths: {sorted(lengths)}")
            n = lengths.pop() if lengths else 0
        self.n = n

    def get(self, name: str) -> _Vec:
        if name not in self._cache:
            try:
                arr = np.asarray(self._raw[name])
            except KeyError:
                raise RuleEvaluationError(f"attribute {name!r} was not supplied") from None
            if arr.shape != (self.n,):
                raise RuleEvaluationError(
                    f"attribute {name!r} has shape {arr.shape}, expected ({self.n},)"
                )
            self._cache[name] = _column(arr, name)
        return self._cache[name]


def _column(arr: _Array, name: str) -> _Vec:
    kind = arr.dtype.kind
    if kind in "fiub":
        return _Vec(arr.astype(np.float64, copy=False))
    if kind == "U":
        return _Vec(_NAN, arr.astype(object), True)
    if kind != "O":
        raise RuleEvaluationError(f"attribute {name!r} holds {arr.dtype}, not numbers or strings")
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    if inferred == "string":
        present = ~pd.isna(arr)
        return _Vec(_NAN, np.where(present, arr, None), present)
    if inferred in ("floating", "integer", "mixed-integer-float", "empty"):
        return _Vec(pd.Series(arr, dtype=object).astype(np.float64).to_numpy())
    # Mixed or unusual content: the scalar path's own normalisation, row by row.
    values = [normalise(v, name) for v in arr]
    is_txt = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    num = np.fromiter(
        (_NAN if v is None or isinstance(v, str) else v for v in values),
        dtype=np.float64,
        count=len(values),
    )
    txt = np.array([v if isinstance(v, str) else None for v in values], dtype=object)
    return _Vec(num, txt, is_txt)


def _fail_if(bad: _Array | np.bool_, message: str) -> None:
    if np.any(bad):
        raise RuleEvaluationError(message)


def _numbers(a: _Vec, b: _Vec, what: str) -> None:
    """Fail if a row has a string on one side and a present value on the other."""
    if a.txt is None and b.txt is None:
        return
    known = ~a.missing() & ~b.missing()
    _fail_if(known & (np.asarray(a.is_txt) | np.asarray(b.is_txt)), f"{what} needs numbers")


def _arith(op: str, a: _Vec, b: _Vec) -> _Vec:
    _numbers(a, b, f"'{op}'")
    with np.errstate(all="ignore"):
        if op == "+":
            r = a.num + b.num
        elif op == "-":
            r = a.num - b.num
        elif op == "*":
            r = a.num * b.num
        else:
            r = np.where(b.num == 0, _NAN, a.num / b.num)
    return _Vec(r)


def _equal(a: _Vec, b: _Vec) -> _Array | np.bool_:
    eq = a.num == b.num
    if a.txt is not None and b.txt is not None:
        both = np.asarray(a.is_txt) & np.asarray(b.is_txt)
        eq = eq | (both & (np.asarray(a.txt == b.txt, dtype=bool)))
    return eq


def _compare(op: str, a: _Vec, b: _Vec) -> _Truth:
    known = ~a.missing() & ~b.missing()
    if op in ("==", "!="):
        eq = _equal(a, b)
        hit = eq if op == "==" else ~eq
    else:
        _numbers(a, b, f"'{op}'")
        with np.errstate(invalid="ignore"):
            if op == "<":
                hit = a.num < b.num
            elif op == "<=":
                hit = a.num <= b.num
            elif op == ">":
                hit = a.num > b.num
            else:
                hit = a.num >= b.num
    return _Truth(known & hit, known & ~hit)


def _member(a: _Vec, items: tuple[object, ...], negated: bool) -> _Truth:
    strings = [i for i in items if isinstance(i, str)]
    numbers = np.array([float(i) for i in items if not isinstance(i, str)], dtype=np.float64)  # type: ignore[arg-type]
    found = np.isin(a.num, numbers)
    if strings and a.txt is not None:
        txt = np.atleast_1d(np.asarray(a.txt, dtype=object))
        in_strings = pd.Series(txt, dtype=object).isin(strings).to_numpy()
        if np.ndim(a.txt) == 0:
            in_strings = in_strings[0]
        found = found | (np.asarray(a.is_txt) & in_strings)
    known = ~a.missing()
    hit = ~found if negated else found
    return _Truth(known & hit, known & ~hit)


def _value(node: Expr, cols: Columns, lists: Mapping[str, tuple[str, ...]]) -> _Vec:
    match node:
        case Num(value):
            return _Vec(np.float64(value))
        case Bool(value):
            return _Vec(np.float64(1.0 if value else 0.0))
        case Str(value):
            return _Vec(_NAN, value, True)
        case Attr(name):
            return cols.get(name)
        case Neg(operand):
            a = _value(operand, cols, lists)
            _numbers(a, _Vec(np.float64(0.0)), "'-'")
            return _Vec(-a.num)
        case Arith(op, left, right):
            return _arith(op, _value(left, cols, lists), _value(right, cols, lists))
    raise RuleDefinitionError("a comparison cannot be used as a value; combine with and/or")


def _truth(node: Expr, cols: Columns, lists: Mapping[str, tuple[str, ...]]) -> _Truth:
    match node:
        case Compare(op, left, right):
            return _compare(op, _value(left, cols, lists), _value(right, cols, lists))
        case In(left, target, negated):
            items = target.items if isinstance(target, ListLiteral) else lists[target.name]
            return _member(_value(left, cols, lists), tuple(items), negated)
        case Not(operand):
            t = _truth(operand, cols, lists)
            return _Truth(t.false, t.true)
        case Logic("and", left, right):
            a, b = _truth(left, cols, lists), _truth(right, cols, lists)
            return _Truth(a.true & b.true, a.false | b.false)
        case Logic(_, left, right):
            a, b = _truth(left, cols, lists), _truth(right, cols, lists)
            return _Truth(a.true | b.true, a.false & b.false)
    a = _value(node, cols, lists)
    _fail_if(np.asarray(a.is_txt) & ~a.missing(), "a string is not a condition")
    present = ~np.isnan(a.num)
    return _Truth(present & (a.num != 0), present & (a.num == 0))


def column_truth(
    node: Expr, columns: Columns, lists: Mapping[str, tuple[str, ...]] | None = None
) -> tuple[_Array, _Array]:
    """The ``(true, false)`` masks of ``node`` over the rows; a row in neither is unknown."""
    t = _truth(node, columns, lists or {})
    shape = (columns.n,)
    return (
        np.broadcast_to(np.asarray(t.true, dtype=bool), shape).copy(),
        np.broadcast_to(np.asarray(t.false, dtype=bool), shape).copy(),
    )


def evaluate_condition(
    node: Expr, columns: Mapping[str, _Array], lists: Mapping[str, tuple[str, ...]] | None = None
) -> _Array:
    """For each row, whether ``node`` is true there (unknown counts as not true).

    >>> from cardwatch.rules.parser import parse_expression
    >>> evaluate_condition(parse_expression('amount > 5 * mean'),
    ...     {'amount': np.array([600.0, 600, 400]), 'mean': np.array([100, np.nan, 100])})
    array([ True, False, False])
    """
    return column_truth(node, Columns(columns), lists)[0]
