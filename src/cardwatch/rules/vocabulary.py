"""The attributes a rule may read, with their kinds: the default known-attribute set.

Transaction fields come from the data contract; features are the names the profiles build.
Labels (``is_fraud``, ``fraud_reported_at``) are left out on purpose: a rule reading the label
would look perfect in a backtest and mean nothing live. ``timestamp`` is left out because rules
compare numbers and strings, not times (use ``hour_unusual`` and friends).
"""

from __future__ import annotations

from types import MappingProxyType

from cardwatch.schema import TRANSACTION_COLUMNS

__all__ = ["FEATURE_KINDS", "KNOWN_ATTRIBUTES", "TRANSACTION_KINDS"]

_NUMERIC_FIELDS = {"amount", "merchant_lat", "merchant_lon"}
_NOT_FOR_RULES = {"is_fraud", "fraud_reported_at", "timestamp"}

TRANSACTION_KINDS = MappingProxyType(
    {
        name: ("number" if name in _NUMERIC_FIELDS else "string")
        for name in TRANSACTION_COLUMNS
        if name not in _NOT_FOR_RULES
    }
)

_NUMERIC_FEATURES = (
    "score",
    "cross_border",
    "card_not_present",
    "card_txn_count_1h",
    "card_txn_count_24h",
    "card_amount_sum_24h",
    "card_amount_mean_30d",
    "amount_ratio_to_mean",
    "first_time_merchant",
    "first_time_country",
    "first_time_mcc",
    "km_from_last_cp",
    "speed_kmh_from_last_cp",
    "magstripe_on_chip",
    "hour_unusual",
    "card_declines_24h",
    "merchant_txn_count_24h",
    "merchant_fraud_rate",
    "exposed",
    "exposed_counterfeit_risk",
)
FEATURE_KINDS = MappingProxyType(
    {"home_country": "string", **dict.fromkeys(_NUMERIC_FEATURES, "number")}
)

#: Every attribute the default engine supplies, name → ``"number"`` or ``"string"``.
KNOWN_ATTRIBUTES = MappingProxyType({**TRANSACTION_KINDS, **FEATURE_KINDS})
