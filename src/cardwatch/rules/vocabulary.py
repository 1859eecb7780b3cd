"""The attributes a rule may read, with their kinds: the default known-attribute set.

It is exactly what the engine hands the rules (``Engine.rule_values`` live, the replay's columns
in bulk): every profile feature, the score, the breach-exposure and travel flags, and the
payment fields the engine passes on. A test keeps this list equal to the engine's, because a
rule that reads an attribute the engine does not supply cannot be judged and stops decisions.
Labels (``is_fraud``, ``fraud_reported_at``) are never offered: a rule reading the label would
look perfect in a backtest and mean nothing live.

Kept as literal names rather than imported from :mod:`cardwatch.profiles`, so that reading or
saving a rule set does not load the compiled feature kernel.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["FEATURE_KINDS", "KNOWN_ATTRIBUTES", "PROFILE_FEATURES", "TRANSACTION_KINDS"]

#: Payment fields the engine passes to the rules (``amount`` is also a profile feature).
TRANSACTION_KINDS = MappingProxyType(
    {
        "amount": "number",
        "merchant_id": "string",
        "merchant_country": "string",
        "mcc": "string",
        "channel": "string",
        "entry_mode": "string",
        "currency": "string",
    }
)

#: Profile features (``cardwatch.profiles.FEATURE_NAMES``), all numbers; 0/1 for flags.
PROFILE_FEATURES = (
    "amount",
    "card_txn_count_1h",
    "card_txn_count_24h",
    "card_txn_count_7d",
    "card_txn_count_30d",
    "card_amount_sum_1h",
    "card_amount_sum_24h",
    "card_amount_sum_7d",
    "card_amount_sum_30d",
    "card_amount_mean_30d",
    "amount_ratio_to_mean",
    "card_txn_count_total",
    "amount_log_zscore",
    "amount_zscore",
    "amount_ratio_to_mean_ever",
    "hours_since_last_txn",
    "first_time_merchant",
    "first_time_mcc",
    "first_time_country",
    "km_from_last_cp",
    "speed_kmh_from_last_cp",
    "card_not_present",
    "cross_border",
    "magstripe_on_chip",
    "manual_entry",
    "hour_of_day",
    "hour_share",
    "hour_unusual",
    "card_declines_24h",
    "merchant_txn_count_24h",
    "merchant_txn_count_7d",
    "merchant_txn_count_30d",
    "merchant_distinct_cards",
    "merchant_fraud_reported",
    "merchant_fraud_rate",
    "merchant_fraud_reported_24h",
    "merchant_fraud_reported_7d",
    "merchant_fraud_reported_30d",
    "merchant_fraud_rate_24h",
    "merchant_fraud_rate_7d",
    "merchant_fraud_rate_30d",
    "merchant_settled_txn_count_24h",
    "merchant_settled_txn_count_7d",
    "merchant_settled_txn_count_30d",
    "merchant_settled_fraud_rate_24h",
    "merchant_settled_fraud_rate_7d",
    "merchant_settled_fraud_rate_30d",
    "merchant_fraud_amount_mean_24h",
    "merchant_fraud_amount_mean_7d",
    "merchant_fraud_amount_mean_30d",
    "merchant_fraud_hours_since_last",
    "merchant_fraud_hours_since_first_30d",
    "merchant_fraud_run_hours",
    "merchant_fraud_run_length",
    "merchant_fraud_zscore_mean_7d",
    "merchant_fraud_zscore_mean_30d",
)

FEATURE_KINDS = MappingProxyType(
    {
        **dict.fromkeys(PROFILE_FEATURES, "number"),
        "score": "number",
        "exposed": "number",
        "exposed_counterfeit_risk": "number",
        "travel_notice": "number",
        "home_country": "string",
    }
)

#: Every attribute the engine supplies, name → ``"number"`` or ``"string"``.
KNOWN_ATTRIBUTES = MappingProxyType({**FEATURE_KINDS, **TRANSACTION_KINDS})
