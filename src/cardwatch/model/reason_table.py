"""The table of reason wordings: which feature names get which code and sentence.

Kept apart from :mod:`cardwatch.model.reasons` (which picks and words the reasons) because it
is data that grows with every new feature; the helpers that write numbers and durations the way
people do live here too, since the wordings use them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["REASON_TEMPLATES", "ReasonTemplate", "human_duration", "human_number", "is_number"]

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
        (ns[k] for k in ("hours_since_last_cp", "hours_from_last_cp") if is_number(ns.get(k))),
        None,
    )
    if hours is not None:
        text += f" {human_duration(hours)} earlier"
    return text


def _merchant_fraud_age(ns: Mapping[str, Any]) -> str:
    if ns["value"] < 0:
        return "no fraud reported at this merchant lately"
    return f"fraud reported at this merchant {human_duration(ns['value'])} ago"


def _merchant_fraud_run(ns: Mapping[str, Any]) -> str:
    if ns["value"] < 0:
        return "no run of fraud at this merchant now"
    return (
        "this merchant's payments reported as fraud one after another, the first report"
        f" {human_duration(ns['value'])} ago"
    )


def _merchant_fraud_zscore(ns: Mapping[str, Any]) -> str:
    usual = "usual" if ns["value"] < 2 else "unusual"
    window = ns["window"]
    return (
        f"frauds reported at this merchant in the last {window}, of amounts {usual} for their cards"
    )


def _cross_border(ns: Mapping[str, Any]) -> str:
    if ns.get("country"):
        return "payment in {country}, outside the card's home country".format_map(ns)
    return "payment outside the card's home country"


_W = r"(?P<n>\d+)(?P<unit>min|m|h|d|day|days)"


def _since_last(ns: Mapping[str, Any]) -> str:
    if ns["value"] < 0:
        return "first payment with this card"
    return f"only {human_duration(ns['value'])} since the card's previous payment"


#: First match wins; patterns are matched against the whole feature name. The names of
#: :mod:`cardwatch.profiles` come first; aliases cover other feature sets (the Handbook's).
REASON_TEMPLATES: tuple[ReasonTemplate, ...] = (
    ReasonTemplate(
        r"amount_(ratio_to_mean|to_mean|ratio)(_ever)?",
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
        rf"merchant_fraud_rate_{_W}",
        "MERCHANT_RISK",
        "frauds reported at this merchant in the last {window}: {pct} of its payments then",
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        rf"merchant_fraud_reported_{_W}",
        "MERCHANT_RISK",
        "{count} frauds at this merchant reported in the last {window}",
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        rf"merchant_settled_fraud_rate_{_W}",
        "MERCHANT_RISK",
        "frauds reported at this merchant in the last {window}: {pct} of its payments a week"
        " earlier",
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        rf"merchant_fraud_amount_mean_{_W}",
        "MERCHANT_RISK",
        "frauds reported at this merchant in the last {window}, of about {v} each",
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        r"merchant_settled_txn_count_.*",
        "MERCHANT_ACTIVITY",
        "unusual activity at this merchant a week ago",
        "unusual activity at this merchant",
    ),
    ReasonTemplate(
        r"merchant_fraud_hours_since_(last|first_30d)",
        "MERCHANT_RISK",
        _merchant_fraud_age,
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        r"merchant_fraud_run_hours",
        "MERCHANT_RISK",
        _merchant_fraud_run,
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        rf"merchant_fraud_zscore_mean_{_W}",
        "MERCHANT_RISK",
        _merchant_fraud_zscore,
        "fraud reported at this merchant lately",
    ),
    ReasonTemplate(
        r"merchant_fraud_run_length",
        "MERCHANT_RISK",
        "{count} payments in a row at this merchant reported as fraud",
        "fraud reported at this merchant lately",
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


def is_number(v: Any) -> bool:
    """A real number that is not NaN (NaN marks a missing feature value)."""
    return isinstance(v, int | float | np.floating | np.integer) and not math.isnan(float(v))


def human_number(v: float) -> str:
    """A number as a person would write it: 1,203 · 12 · 8 · 1.5 · 0.25.

    >>> [human_number(v) for v in (1203.4, 12.3, 8.0, 8.04, 1.5, 0.25)]
    ['1,203', '12', '8', '8', '1.5', '0.25']
    """
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 9.5:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}".removesuffix(".0")
    return f"{v:.2g}"


def human_duration(hours: float) -> str:
    """A duration in hours as a person would say it.

    >>> human_duration(0.05), human_duration(2.2), human_duration(72.0)
    ('3 min', '2 h', '3 days')
    """
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"
