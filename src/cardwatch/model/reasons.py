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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from cardwatch.model.countries import country_name
from cardwatch.schema import Reason

__all__ = ["REASON_TEMPLATES", "ReasonTemplate", "explain", "reason_for"]

Message = str | Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class ReasonTemplate:
    """How to word the reason for the features whose names fully match ``pattern``."""

    pattern: str
    code: str
    message: Message
    fallback: str

    def matches(self, feature: str) -> re.Match[str] | None:
        return re.fullmatch(self.pattern, feature, flags=re.IGNORECASE)


def _amount_ratio(ns: Mapping[str, Any]) -> str:
    if ns["value"] >= 1.5:
        return "amount {v}x this card's usual".format_map(ns)
    if ns["value"] <= 0.2:
        return "amount far below this card's usual"
    return "amount unusual for this card"


def _far_from_last(ns: Mapping[str, Any]) -> str:
    text = "{v} km from the last in-person payment".format_map(ns)
    hours = next(
        (ns[k] for k in ("hours_since_last_cp", "hours_from_last_cp") if _number(ns.get(k))),
        None,
    )
    if hours is not None:
        text += f" {_duration(hours)} earlier"
    return text


def _cross_border(ns: Mapping[str, Any]) -> str:
    if ns.get("country"):
        return "payment in {country}, outside the card's home country".format_map(ns)
    return "payment outside the card's home country"


_W = r"(?P<n>\d+)(?P<unit>min|m|h|d|day|days)"


def _since_last(ns: Mapping[str, Any]) -> str:
    if ns["value"] < 0:
        return "first payment with this card"
    return f"only {_duration(ns['value'])} since the card's previous payment"


#: First match wins; patterns are matched against the whole feature name. The names of
#: :mod:`cardwatch.profiles` come first; aliases cover other feature sets (the Handbook's).
REASON_TEMPLATES: tuple[ReasonTemplate, ...] = (
    ReasonTemplate(
        r"amount_(ratio_to_mean|to_mean|ratio)",
        "AMOUNT_UNUSUAL",
        _amount_ratio,
        "amount unusual for this card",
    ),
    ReasonTemplate(
        r"amount_(log_)?z_?score.*|card_amount_mean_.*|customer_id_avg_amount_.*",
        "AMOUNT_UNUSUAL",
        "amount unusual for this card",
        "amount unusual for this card",
    ),
    ReasonTemplate(
        r"(tx_)?amount(_in_\w+)?", "AMOUNT_HIGH", "high amount ({v}{currency_text})", "high amount"
    ),
    ReasonTemplate(
        rf"card_(txn|tx)_count_{_W}",
        "VELOCITY_{N}{U}",
        "{count} earlier payments in the last {window}",
        "many payments in a short time",
    ),
    ReasonTemplate(
        r"customer_id_nb_tx_(?P<n>\d+)(?P<unit>day)_window",
        "VELOCITY_{N}{U}",
        "{count} payments in the last {window}",
        "many payments in a short time",
    ),
    ReasonTemplate(
        r"card_(txn|tx)_count_total",
        "NEW_CARD",
        "card with only {count} earlier payments",
        "card with little history",
    ),
    ReasonTemplate(
        rf"card_amount_sum_{_W}",
        "SPEND_{N}{U}",
        "{v}{currency_text} spent in the last {window}",
        "high spending in a short time",
    ),
    ReasonTemplate(
        rf"card_(distinct|unique)_merchants_{_W}",
        "MERCHANTS_{N}{U}",
        "{count} different merchants in the last {window}",
        "many different merchants",
    ),
    ReasonTemplate(
        rf"card_declines?_(count_)?{_W}",
        "DECLINES_{N}{U}",
        "{count} declined or challenged attempts in the last {window}",
        "recent declined attempts",
    ),
    ReasonTemplate(
        r"hours_since_last_(txn|tx|payment)",
        "RAPID_REPEAT",
        _since_last,
        "payments in quick succession",
    ),
    ReasonTemplate(
        r"(speed|kmh)_.*last_cp.*|.*_kmh",
        "IMPOSSIBLE_TRAVEL",
        "{v} km/h needed to get here from the last in-person payment",
        "too far from the last in-person payment to travel in the time",
    ),
    ReasonTemplate(
        r"km_from_last(_cp)?|distance_from_last(_cp)?(_km)?",
        "FAR_FROM_LAST",
        _far_from_last,
        "far from the last in-person payment",
    ),
    ReasonTemplate(
        r"km_from_home|distance_from_home(_km)?",
        "FAR_FROM_HOME",
        "{v} km from home",
        "far from home",
    ),
    ReasonTemplate(
        r"(first|new)_(time_|use_)?(in_)?country|country_(first_use|new)|first_use_country",
        "FIRST_COUNTRY",
        "first use in {country}",
        "first use in this country",
    ),
    ReasonTemplate(
        r"cross_border|foreign|abroad",
        "CROSS_BORDER",
        _cross_border,
        "payment outside the card's home country",
    ),
    ReasonTemplate(
        r"magstripe_on_chip",
        "MAGSTRIPE_ON_CHIP",
        "magnetic-stripe read of a chip card",
        "magnetic-stripe read of a chip card",
    ),
    ReasonTemplate(
        r"(chip_)?fallback",
        "CHIP_FALLBACK",
        "chip read failed and fell back to the magnetic stripe",
        "chip read failed and fell back to the magnetic stripe",
    ),
    ReasonTemplate(
        r"card_not_present|cnp",
        "CARD_NOT_PRESENT",
        "card not present (online or by phone)",
        "card not present",
    ),
    ReasonTemplate(
        r"manual_entry|key_entered",
        "MANUAL_ENTRY",
        "card number typed in by hand",
        "card number typed in by hand",
    ),
    ReasonTemplate(
        r"(merchant|terminal)(_id)?_(fraud_rate|risk).*",
        "MERCHANT_RISK",
        "confirmed fraud at this merchant ({pct} of its payments)",
        "confirmed fraud at this merchant",
    ),
    ReasonTemplate(
        r"merchant_fraud_(reported|count).*",
        "MERCHANT_RISK",
        "{count} confirmed frauds at this merchant",
        "confirmed fraud at this merchant",
    ),
    ReasonTemplate(
        r"merchant_distinct_cards.*",
        "NEW_MERCHANT",
        "little-known merchant ({count} cards seen)",
        "little-known merchant",
    ),
    ReasonTemplate(
        r"(merchant|terminal)(_id)?_(txn_count|nb_tx)_.*",
        "MERCHANT_ACTIVITY",
        "unusual activity at this merchant",
        "unusual activity at this merchant",
    ),
    ReasonTemplate(
        r"(merchant_)?(breach|compromise[d]?|exposed|exposure).*",
        "CARD_EXPOSED",
        "card used at a merchant with a suspected data breach",
        "card used at a merchant with a suspected data breach",
    ),
    ReasonTemplate(
        r"(first|new)_(time_)?merchant|merchant_(first_use|new)",
        "NEW_MERCHANT",
        "first payment at this merchant",
        "first payment at this merchant",
    ),
    ReasonTemplate(
        r"(first|new)_(time_)?mcc|mcc_(first_use|new)",
        "NEW_CATEGORY",
        "first payment in this kind of shop",
        "first payment in this kind of shop",
    ),
    ReasonTemplate(
        r"(mcc_risk|risky_mcc|mcc_fraud_rate.*)",
        "MERCHANT_CATEGORY",
        "merchant category often targeted by fraud",
        "merchant category often targeted by fraud",
    ),
    ReasonTemplate(
        r"(is_)?night|tx_during_night|hour(_of_day|_share|_unusual)?|unusual_hour.*",
        "UNUSUAL_TIME",
        "payment at an unusual time for this card",
        "payment at an unusual time for this card",
    ),
    ReasonTemplate(
        r"card_age_days|days_since_first(_use)?",
        "NEW_CARD",
        "card first used {v} days ago",
        "recently issued card",
    ),
)

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
    if _number(value):
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
    "v": lambda value: _human(value),
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


def _number(v: Any) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and not math.isnan(float(v))


def _human(v: float) -> str:
    """A number as a person would write it: 1,203 · 12 · 8 · 1.5 · 0.25.

    >>> [_human(v) for v in (1203.4, 12.3, 8.0, 8.04, 1.5, 0.25)]
    ['1,203', '12', '8', '8', '1.5', '0.25']
    """
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 9.5:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}".removesuffix(".0")
    return f"{v:.2g}"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"
