"""Reason codes: the model's strongest grounds for suspicion, in words a cardholder understands.

Why: a decline without a reason is the "silent blanket block" cardwatch exists to prevent. The
model says which features pushed the score up (their contributions); this module turns the
largest of them into a stable code for machines and a sentence built from the row's own values
("amount 8x this card's usual", "5 payments in the last hour") for people.

Each :class:`ReasonTemplate` matches feature names by a regular expression, so one entry covers
every window of a family (``card_txn_count_1h``, ``card_txn_count_24h``…). A message is a
``str.format`` template over the feature's ``value`` (and ``v``, the value written for people),
every feature of the row by name, the caller's ``context`` (``merchant_country``, ``currency``…),
``country`` (the merchant country's name), and the pattern's named groups; when a field it needs
is missing, the template's ``fallback`` is used. Unknown features get a generic reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from cardwatch.model.countries import country_name
from cardwatch.model.reason_table import (
    REASON_TEMPLATES,
    ReasonTemplate,
    human_number,
    is_number,
)
from cardwatch.schema import Reason

__all__ = ["explain", "reason_for"]

_UNITS = {"min": "minute", "m": "minute", "h": "hour", "d": "day", "day": "day", "days": "day"}


def reason_for(
    feature: str, value: float, row: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Reason:  # fmt: skip
    """The reason for one feature with its value; ``row`` holds the other features by name.

    >>> reason_for("amount_ratio_to_mean", 8.0)
    Reason(code='AMOUNT_UNUSUAL', message="amount 8x this card's usual")
    >>> reason_for("first_country", 1.0, context={"merchant_country": "US"}).message
    'first use in the United States'
    >>> reason_for("card_txn_count_1h", 5.0)
    Reason(code='VELOCITY_1H', message='5 earlier payments in the last hour')
    >>> reason_for("km_from_last_cp", 1203.4, row={"hours_since_last_cp": 2.0}).message
    '1,203 km from the last in-person payment 2 h earlier'
    >>> reason_for("mystery_signal", 0.7)
    Reason(code='UNUSUAL_MYSTERY_SIGNAL', message='unusual mystery signal (0.7)')
    """
    ctx = context or {}
    derived: dict[str, Any] = {"country": country_name(ctx.get("merchant_country"))}
    derived["currency_text"] = f" {ctx['currency']}" if ctx.get("currency") else ""
    if is_number(value):
        derived["value"] = float(value)
    template, code, window = _resolve(feature)
    if window is not None:
        derived["window"] = window
    fields = _Fields(derived, ctx, row or {})
    if template is None:
        shown = f" ({fields['v']})" if "value" in derived else ""
        return Reason(code, f"unusual {feature.replace('_', ' ')}{shown}")
    try:
        if callable(template.message):
            message = template.message(fields)
        elif "{country}" in template.message and derived["country"] is None:
            message = template.fallback
        else:
            message = template.message.format_map(fields)
    except (KeyError, ValueError, TypeError):
        message = template.fallback
    return Reason(code, message)


@lru_cache(maxsize=4096)
def _resolve(feature: str) -> tuple[ReasonTemplate | None, str, str | None]:
    """The template, the code and the window text ("24 hours") for a feature name, cached:
    matching two dozen patterns on every explanation would cost more than the model."""
    for template in REASON_TEMPLATES:
        match = template.matches(feature)
        if match is None:
            continue
        groups = match.groupdict()
        if groups.get("n") is None:
            return template, template.code, None
        n, unit = int(groups["n"]), _UNITS[groups["unit"].lower()]
        code = template.code.replace("{N}", str(n)).replace("{U}", unit[0].upper())
        return template, code, unit if n == 1 else f"{n} {unit}s"
    return None, "UNUSUAL_" + re.sub(r"\W", "_", feature).upper(), None


#: Ways of writing the feature's value, made only when a message asks for them.
_VALUE_TEXTS: dict[str, Callable[[float], str]] = {
    "v": human_number,
    "count": lambda value: f"{round(value):,}",
    "pct": lambda value: f"{value:.1%}",
}


class _Fields(Mapping[str, Any]):
    """What a message template can name: derived values, then the context, then the row.

    A NaN (a missing feature value) is absent, so a template needing it uses its fallback.
    """

    __slots__ = ("_maps",)

    def __init__(self, *maps: Mapping[str, Any]) -> None:
        self._maps = maps

    def __getitem__(self, key: str) -> Any:
        if key in _VALUE_TEXTS:
            return _VALUE_TEXTS[key](self._maps[0]["value"])
        for m in self._maps:
            if key in m:
                value = m[key]
                if isinstance(value, float) and math.isnan(value):
                    raise KeyError(key)
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        keys = {k: None for m in self._maps for k in m}
        if "value" in self._maps[0]:
            keys.update(dict.fromkeys(_VALUE_TEXTS))
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def explain(
    contributions: np.ndarray,
    feature_names: Sequence[str],
    x: np.ndarray,
    k: int = 3,
    context: Mapping[str, Any] | None = None,
    min_contribution: float = 0.0,
) -> list[Reason]:
    """The ``k`` reasons behind the largest positive contributions, strongest first.

    ``contributions`` has one entry per feature (a trailing base value is ignored); features
    that lowered the score are never reasons; two features worded the same way count once.

    >>> names = ["amount_ratio_to_mean", "card_txn_count_1h", "card_not_present"]
    >>> explain(np.array([1.2, -0.3, 0.4, -2.0]), names, np.array([6.0, 1.0, 1.0]), k=3)
    [Reason(code='AMOUNT_UNUSUAL', message="amount 6x this card's usual"), \
Reason(code='CARD_NOT_PRESENT', message='card not present (online or by phone)')]
    """
    d = len(feature_names)
    contrib = np.asarray(contributions, dtype=np.float64)[:d]
    values = np.asarray(x, dtype=np.float64)
    row = _Row(feature_names, values)
    reasons: list[Reason] = []
    seen: set[str] = set()
    for i in np.argsort(-contrib, kind="stable"):
        if len(reasons) >= k or not contrib[i] > min_contribution:
            break
        reason = reason_for(feature_names[i], float(values[i]), row, context)
        if reason.code not in seen:
            seen.add(reason.code)
            reasons.append(reason)
    return reasons


class _Row(Mapping[str, float]):
    """The row's features by name, looked up only when a message names one."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: Sequence[str], values: np.ndarray) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: str) -> float:
        try:
            return float(self._values[list(self._names).index(key)])
        except ValueError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
