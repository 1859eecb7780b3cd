"""The names of the profile features, their column order, and the small codes the kernel uses.

Why one table of names: the kernel writes features into a float64 row by position, the model
trains on those positions, the rules read them by name. Keeping the names, their positions and
their meaning in one place is what stops the three from drifting apart.

Every feature of a transaction is computed from the state *before* that transaction (river's
"score first, then learn"): counts over windows therefore exclude the transaction itself.
"""

from __future__ import annotations

from cardwatch.schema import CHANNELS, ENTRY_MODES

__all__ = [
    "CHANNEL_CODES",
    "DESCRIPTIONS",
    "ENTRY_CODES",
    "FEATURE_INDEX",
    "FEATURE_NAMES",
    "MISSING",
    "N_FEATURES",
    "UNSEEN",
    "WINDOWS_US",
]

#: Code of a value the transaction did not give (no MCC, no country, no channel).
MISSING = -1
#: Code of a value given but never seen before by the live state (so "first time" is certain).
UNSEEN = -2

CHANNEL_CODES: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}
ENTRY_CODES: dict[str, int] = {name: i for i, name in enumerate(ENTRY_MODES)}

_HOUR = 3_600_000_000
#: The exact windows, in microseconds of event time: 1 h, 24 h, 7 d, 30 d.
WINDOWS_US: tuple[int, int, int, int] = (_HOUR, 24 * _HOUR, 7 * 24 * _HOUR, 30 * 24 * _HOUR)

#: Each feature with a one-line meaning; the order is the column order of every feature row.
DESCRIPTIONS: dict[str, str] = {
    "amount": "the transaction's amount",
    "card_txn_count_1h": "card's earlier attempts in the last hour",
    "card_txn_count_24h": "card's earlier attempts in the last 24 hours",
    "card_txn_count_7d": "card's earlier attempts in the last 7 days",
    "card_txn_count_30d": "card's earlier attempts in the last 30 days",
    "card_amount_sum_1h": "amount of the card's attempts in the last hour",
    "card_amount_sum_24h": "amount of the card's attempts in the last 24 hours",
    "card_amount_sum_7d": "amount of the card's attempts in the last 7 days",
    "card_amount_sum_30d": "amount of the card's attempts in the last 30 days",
    "card_amount_mean_30d": "card's mean amount over 30 days (0 without history)",
    "amount_ratio_to_mean": "amount over the card's 30-day mean (1 without history)",
    "card_txn_count_total": "card's earlier attempts, ever",
    "amount_log_zscore": "how unusual the amount is for the card (z-score of log amount)",
    "amount_zscore": (
        "the amount's z-score against all the card's earlier amounts (std floored at 5% of"
        " their mean; 0 under two)"
    ),
    "amount_ratio_to_mean_ever": "amount over the mean of all the card's earlier amounts (1: none)",
    "hours_since_last_txn": "hours since the card's previous attempt (-1 for the first)",
    "first_time_merchant": "1 when the card was never used at this merchant",
    "first_time_mcc": "1 when the card was never used in this merchant category",
    "first_time_country": "1 when the card was never used in this country",
    "km_from_last_cp": "km from the card's last card-present use (card-present only)",
    "speed_kmh_from_last_cp": "speed implied by that distance, km/h (1-minute floor)",
    "card_not_present": "1 for e-commerce, mail/telephone order or keyed-in remote payments",
    "cross_border": "1 when the merchant's country is not the card's home country",
    "magstripe_on_chip": "1 for magstripe or fallback on a card already used with chip",
    "manual_entry": "1 when the card number was keyed in",
    "hour_of_day": "hour of the day (UTC)",
    "hour_share": "share of the card's earlier attempts within an hour of this hour of day",
    "hour_unusual": "1 when the card has 10+ attempts and under 5% of them near this hour",
    "card_declines_24h": "card's challenges and declines by cardwatch in the last 24 hours",
    "merchant_txn_count_24h": "merchant's earlier attempts in the last 24 hours",
    "merchant_txn_count_7d": "merchant's earlier attempts in the last 7 days",
    "merchant_txn_count_30d": "merchant's earlier attempts in the last 30 days",
    "merchant_distinct_cards": "distinct cards seen at the merchant, ever",
    "merchant_fraud_reported": "frauds at the merchant reported so far",
    "merchant_fraud_rate": "frauds reported so far over the merchant's attempts so far",
    "merchant_fraud_reported_24h": "frauds at the merchant whose report came in the last 24 hours",
    "merchant_fraud_reported_7d": "frauds at the merchant whose report came in the last 7 days",
    "merchant_fraud_reported_30d": "frauds at the merchant whose report came in the last 30 days",
    "merchant_fraud_rate_24h": "frauds reported in the last 24 hours over its 24-hour attempts",
    "merchant_fraud_rate_7d": "frauds reported in the last 7 days over its 7-day attempts",
    "merchant_fraud_rate_30d": "frauds reported in the last 30 days over its 30-day attempts",
    "merchant_settled_txn_count_24h": "merchant's attempts between 8 and 7 days ago",
    "merchant_settled_txn_count_7d": "merchant's attempts between 14 and 7 days ago",
    "merchant_settled_txn_count_30d": "merchant's attempts between 37 and 7 days ago",
    "merchant_settled_fraud_rate_24h": (
        "frauds reported in the last 24 hours over the attempts between 8 and 7 days ago"
    ),
    "merchant_settled_fraud_rate_7d": (
        "frauds reported in the last 7 days over the attempts between 14 and 7 days ago"
    ),
    "merchant_settled_fraud_rate_30d": (
        "frauds reported in the last 30 days over the attempts between 37 and 7 days ago"
    ),
    "merchant_fraud_amount_mean_24h": (
        "mean amount of the frauds reported at the merchant in the last 24 hours (0: none)"
    ),
    "merchant_fraud_amount_mean_7d": (
        "mean amount of the frauds reported at the merchant in the last 7 days (0: none)"
    ),
    "merchant_fraud_amount_mean_30d": (
        "mean amount of the frauds reported at the merchant in the last 30 days (0: none)"
    ),
    "merchant_fraud_hours_since_last": (
        "hours since the merchant's latest fraud report of the last 30 days (-1 when none)"
    ),
    "merchant_fraud_hours_since_first_30d": (
        "hours since the merchant's earliest fraud report of the last 30 days (-1 when none)"
    ),
    "merchant_fraud_run_hours": (
        "hours since the first report of the merchant's run of reported fraud: its latest"
        " reported attempts, consecutive, and no later attempt older than 7 days (-1 when none)"
    ),
    "merchant_fraud_run_length": "attempts in that run of reported fraud (0 when none)",
    "merchant_fraud_zscore_mean_7d": (
        "mean z-score for its card of the amounts of the frauds reported at the merchant in the"
        " last 7 days (0: none)"
    ),
    "merchant_fraud_zscore_mean_30d": (
        "mean z-score for its card of the amounts of the frauds reported at the merchant in the"
        " last 30 days (0: none)"
    ),
}

FEATURE_NAMES: tuple[str, ...] = tuple(DESCRIPTIONS)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
N_FEATURES = len(FEATURE_NAMES)
