from __future__ import annotations

import numpy as np
import pytest

from cardwatch.model import explain, reason_for
from cardwatch.schema import Reason


@pytest.mark.parametrize(
    ("feature", "value", "row", "context", "code", "message"),
    [
        ("amount_ratio_to_mean", 8.0, {}, {}, "AMOUNT_UNUSUAL", "amount 8x this card's usual"),
        ("amount_ratio_to_mean", 2.5, {}, {}, "AMOUNT_UNUSUAL", "amount 2.5x this card's usual"),
        ("amount_ratio_to_mean", 1.1, {}, {}, "AMOUNT_UNUSUAL", "amount unusual for this card"),
        ("first_country", 1.0, {}, {"merchant_country": "US"}, "FIRST_COUNTRY",
         "first use in the United States"),
        ("first_country", 1.0, {}, {}, "FIRST_COUNTRY", "first use in this country"),
        ("magstripe_on_chip", 1.0, {}, {}, "MAGSTRIPE_ON_CHIP",
         "magnetic-stripe read of a chip card"),
        ("card_txn_count_1h", 5.0, {}, {}, "VELOCITY_1H", "5 earlier payments in the last hour"),
        ("card_txn_count_24h", 12.0, {}, {}, "VELOCITY_24H",
         "12 earlier payments in the last 24 hours"),
        ("card_txn_count_7d", 30.0, {}, {}, "VELOCITY_7D",
         "30 earlier payments in the last 7 days"),
        ("first_time_country", 1.0, {}, {"merchant_country": "US"}, "FIRST_COUNTRY",
         "first use in the United States"),
        ("hours_since_last_txn", 0.05, {}, {}, "RAPID_REPEAT",
         "only 3 min since the card's previous payment"),
        ("hours_since_last_txn", -1.0, {}, {}, "RAPID_REPEAT", "first payment with this card"),
        ("speed_kmh_from_last_cp", 4100.0, {}, {}, "IMPOSSIBLE_TRAVEL",
         "4,100 km/h needed to get here from the last in-person payment"),
        ("amount_log_zscore", 3.2, {}, {}, "AMOUNT_UNUSUAL", "amount unusual for this card"),
        ("amount", 950.0, {}, {"currency": "EUR"}, "AMOUNT_HIGH", "high amount (950 EUR)"),
        ("TERMINAL_ID_RISK_7DAY_WINDOW", 0.5, {}, {}, "MERCHANT_RISK",
         "confirmed fraud at this merchant (50.0% of its payments)"),
        ("km_from_last_cp", 1200.0, {"hours_since_last_cp": 2.2}, {}, "FAR_FROM_LAST",
         "1,200 km from the last in-person payment 2 h earlier"),
        ("km_from_last_cp", 1200.0, {}, {}, "FAR_FROM_LAST",
         "1,200 km from the last in-person payment"),
        ("km_from_last_cp", float("nan"), {}, {}, "FAR_FROM_LAST",
         "far from the last in-person payment"),
        ("cross_border", 1.0, {}, {"merchant_country": "gb"}, "CROSS_BORDER",
         "payment in the United Kingdom, outside the card's home country"),
        ("merchant_fraud_rate", 0.125, {}, {}, "MERCHANT_RISK",
         "confirmed fraud at this merchant (12.5% of its payments)"),
        ("card_not_present", 1.0, {}, {}, "CARD_NOT_PRESENT",
         "card not present (online or by phone)"),
        ("card_amount_sum_24h", 2500.0, {}, {"currency": "EUR"}, "SPEND_24H",
         "2,500 EUR spent in the last 24 hours"),
        ("CUSTOMER_ID_NB_TX_1DAY_WINDOW", 6.0, {}, {}, "VELOCITY_1D",
         "6 payments in the last day"),
        ("weird_feature", 3.14159, {}, {}, "UNUSUAL_WEIRD_FEATURE",
         "unusual weird feature (3.1)"),
        ("weird_feature", float("nan"), {}, {}, "UNUSUAL_WEIRD_FEATURE", "unusual weird feature"),
    ],
)  # fmt: skip
def test_reason_wording(
    feature: str, value: float, row: dict, context: dict, code: str, message: str
) -> None:
    assert reason_for(feature, value, row, context) == Reason(code, message)


def test_explain_takes_the_largest_positive_contributions_in_order() -> None:
    names = ["card_not_present", "amount_ratio_to_mean", "card_txn_count_1h", "magstripe_on_chip"]
    x = np.array([1.0, 8.0, 5.0, 0.0])
    contrib = np.array([0.2, 1.5, 0.9, -3.0, -7.0])  # last: base value, ignored
    reasons = explain(contrib, names, x, k=2)
    assert [r.code for r in reasons] == ["AMOUNT_UNUSUAL", "VELOCITY_1H"]
    assert len(explain(contrib, names, x, k=10)) == 3  # only positive contributions


def test_explain_words_two_features_of_one_kind_once() -> None:
    names = ["amount_ratio_to_mean", "amount_zscore", "card_not_present"]
    reasons = explain(np.array([1.0, 0.8, 0.1]), names, np.array([8.0, 4.0, 1.0]), k=3)
    assert [r.code for r in reasons] == ["AMOUNT_UNUSUAL", "CARD_NOT_PRESENT"]


def test_explain_uses_other_features_and_context_in_messages() -> None:
    names = ["km_from_last_cp", "hours_since_last_cp", "first_country"]
    x = np.array([850.0, 0.5, 1.0])
    reasons = explain(np.array([2.0, -0.1, 1.0]), names, x, context={"merchant_country": "BR"})
    assert reasons == [
        Reason("FAR_FROM_LAST", "850 km from the last in-person payment 30 min earlier"),
        Reason("FIRST_COUNTRY", "first use in Brazil"),
    ]


def test_explain_with_nothing_suspicious_gives_no_reason() -> None:
    assert explain(np.array([-1.0, 0.0]), ["a", "b"], np.array([1.0, 2.0])) == []


def test_every_profile_feature_has_its_own_wording() -> None:
    profiles = pytest.importorskip("cardwatch.profiles.features")
    names = profiles.FEATURE_NAMES
    generic = [n for n in names if reason_for(n, 1.0).code == "UNUSUAL_" + n.upper()]
    assert generic == []
