"""The merchant's windowed fraud features count labels by the time their report became visible:
a label reported at ``r`` is inside the window of length w at ``t`` when ``t - w < r <= t``."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from cardwatch.profiles import FEATURE_INDEX, ProfileState, to_us
from cardwatch.schema import Transaction
from tests.profiles.histories import START

_DAY = timedelta(days=1)


def _txn(i: int, at: timedelta, merchant: str = "m0") -> Transaction:
    return Transaction(
        txn_id=f"t{i}", timestamp=START + at, card_id=f"c{i % 3}", amount=10.0, merchant_id=merchant
    )


def _read(state: ProfileState, txn: Transaction) -> dict[str, float]:
    state.advance(to_us(txn.timestamp))
    x = state.features(txn)
    names = (
        "merchant_txn_count_7d",
        "merchant_txn_count_30d",
        "merchant_fraud_reported",
        "merchant_fraud_reported_7d",
        "merchant_fraud_reported_30d",
        "merchant_fraud_rate_7d",
        "merchant_fraud_rate_30d",
    )
    return {name: float(x[FEATURE_INDEX[name]]) for name in names}


def test_labels_enter_when_reported_and_leave_after_7_and_30_days() -> None:
    state = ProfileState()
    for i in range(4):  # four payments on day 0
        state.update(_txn(i, timedelta(hours=i)))
    state.report_fraud("t0", "m0", START + 2 * _DAY, occurred_at=START)
    state.report_fraud("t1", "m0", START + 3 * _DAY, occurred_at=START + timedelta(hours=1))
    state.report_fraud("t1", "m0", START + 4 * _DAY)  # the same label twice counts once
    early = _read(state, _txn(10, 2 * _DAY - timedelta(microseconds=1)))
    assert early["merchant_fraud_reported_7d"] == 0 == early["merchant_fraud_reported_30d"]
    at2 = _read(state, _txn(11, 2 * _DAY))
    assert at2["merchant_fraud_reported_7d"] == 1 == at2["merchant_fraud_reported_30d"]
    assert at2["merchant_fraud_rate_7d"] == 1 / 4
    at8 = _read(state, _txn(12, 8 * _DAY))  # payments of day 0 out of 7 days, labels still in
    assert at8["merchant_fraud_reported_7d"] == 2
    assert at8["merchant_txn_count_7d"] == 0 and at8["merchant_fraud_rate_7d"] == 0
    assert at8["merchant_fraud_rate_30d"] == 2 / 4
    at9 = _read(state, _txn(13, 9 * _DAY))  # the day-2 report is exactly 7 days old: out
    assert at9["merchant_fraud_reported_7d"] == 1 and at9["merchant_fraud_reported_30d"] == 2
    state.update(_txn(13, 9 * _DAY))
    at32 = _read(state, _txn(14, 32 * _DAY))
    assert at32["merchant_fraud_reported_30d"] == 1
    assert at32["merchant_fraud_rate_30d"] == 1 / 1  # one label over the day-9 payment
    at33 = _read(state, _txn(15, 33 * _DAY))
    assert at33["merchant_fraud_reported_30d"] == 0
    assert at33["merchant_fraud_reported"] == 2  # the total never expires


def test_compaction_and_a_back_dated_report_keep_the_windows_exact() -> None:
    """A report dated before the merchant's latest label counts from that label's time (the
    chain stays in time order); compacting at any moment changes nothing."""
    rows = []
    for compact in (False, True):
        state = ProfileState()
        state.lab_i = state.lab_i[:1]
        got = []
        for day in range(60):
            txn = _txn(day, day * _DAY + timedelta(hours=1), merchant=f"m{day % 2}")
            if day % 5 == 0:
                state.report_fraud(f"f{day}", txn.merchant_id, START + day * _DAY)
            if day == 21:  # back-dated to day 3, after m1's day-15 label was counted
                state.report_fraud("late", "m1", START + 3 * _DAY)
            if compact:
                state.compact(to_us(txn.timestamp))
            got.append(list(_read(state, txn).values()))
            state.update(txn)
        rows.append(np.array(got))
    np.testing.assert_array_equal(rows[0], rows[1])
    m1 = rows[0][1::2]  # the odd days, merchant m1; the late label counts from day 15
    days = np.arange(1, 60, 2)
    labels = [5, 15, 25, 35, 45, 55]  # m1's labels, and the late one seen on day 21
    in7 = [sum(1 for d in labels if d <= day < d + 7) + (21 <= day < 15 + 7) for day in days]
    in30 = [sum(1 for d in labels if d <= day < d + 30) + (21 <= day < 15 + 30) for day in days]
    assert m1[:, 3].tolist() == in7
    assert m1[:, 4].tolist() == in30
