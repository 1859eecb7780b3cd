"""What a value is to a rule: a number (float), a string, or missing.

One normalisation for both evaluators, so that a 0/1 flag stored as ``int``, ``numpy.int8`` or
``bool`` means the same everywhere, and missing (``None``, NaN, pandas' NA) is recognised the same
way on the live path and in the backtest.

Semantics, shared by :mod:`cardwatch.rules.scalar` and :mod:`cardwatch.rules.vector`:

- numbers are compared and computed as IEEE doubles; ``x / 0`` is missing;
- a comparison, ``in`` or truth test with a missing operand is *unknown*; ``not unknown`` is
  unknown, ``false and unknown`` is false, ``true or unknown`` is true (Kleene logic); a rule
  fires only when its condition is true, so a missing value never fires a rule, not even
  through ``not`` or ``!=``;
- ``==`` between a number and a string is false; ordering, arithmetic or a truth test on a
  string is an evaluation error (caught earlier, when the set is compiled with known kinds).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from cardwatch.rules.errors import RuleEvaluationError

__all__ = ["Value", "normalise"]

Value = float | str | None


def normalise(value: object, name: str) -> Value:
    """The rule value of an attribute's value.

    >>> normalise(1, "x"), normalise(float("nan"), "x"), normalise("GB", "x"), normalise(None, "x")
    (1.0, None, 'GB', None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Integral | np.bool_):  # bool and numpy integers included
        return float(int(value))
    if isinstance(value, Real):
        f = float(value)
        return None if math.isnan(f) else f
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    raise RuleEvaluationError(
        f"attribute {name!r} is a {type(value).__name__}, not a number or a string"
    )
