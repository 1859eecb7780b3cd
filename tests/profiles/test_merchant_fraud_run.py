"""The merchant's run of reported fraud: reports of its latest attempts, at consecutive
positions, hold as a run while no later attempt older than the 7-day label delay went
unreported — a compromised terminal whose every payment is fraud."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from cardwatch.profiles import FEATURE_INDEX, ProfileState, to_us
from cardwatch.schema import HISTORY_SCHEMA, Transaction
from tests.profiles.histories import START

_DAY = timedelta(days=1)
_WEEK = 7 * _DAY


def _txn(i: int, at: timedelta) -> Transaction:
    return Transaction(
        txn_id=f"t{i}", timestamp=START + at, card_id=f"c{i}", amount=10.0, merchant_id="m0"
    )


def _run(state: ProfileState, at: timedelta) -> tuple[float, float]:
    txn = _txn(999, at)
    state.advance(to_us(txn.timestamp))
    x = state.features(txn)
    return (
        float(x[FEATURE_INDEX["merchant_fraud_run_hours"]]),
        float(x[FEATURE_INDEX["merchant_fraud_run_length"]]),
    )


def test_a_run_holds_until_an_unreported_attempt_settles() -> None:
    state = ProfileState()
    for day in range(6):  # one payment a day; days 1, 2 and 3 are frauds, reported a week later
        state.update(_txn(day, day * _DAY))
    for day in (1, 2, 3):
        state.report_fraud(f"t{day}", "m0", START + day * _DAY + _WEEK)
    assert _run(state, 8 * _DAY - timedelta(hours=1)) == (-1.0, 0.0)  # no report yet
    assert _run(state, 8 * _DAY) == (0.0, 1.0)
    assert _run(state, 10 * _DAY + timedelta(hours=1)) == (49.0, 3.0)  # day 3 reported
    # day 4's payment is a week old and unreported: the run is over
    assert _run(state, 11 * _DAY) == (-1.0, 0.0)


def test_a_late_report_leaves_the_run_alone_and_a_gap_starts_a_new_one() -> None:
    state = ProfileState()
    for day in range(6):
        state.update(_txn(day, day * _DAY))
    state.report_fraud("t1", "m0", START + 8 * _DAY)
    state.report_fraud("t3", "m0", START + 10 * _DAY)  # day 2 not reported: a new run
    state.report_fraud("t2", "m0", START + 10 * _DAY + timedelta(hours=2))  # late: no change
    assert _run(state, 10 * _DAY + timedelta(hours=3)) == (3.0, 1.0)


def test_live_reports_equal_a_replay_of_the_same_history() -> None:
    rows = []
    for day in range(12):
        fraud = day in (2, 3, 4, 7)
        rows.append(
            {
                "txn_id": f"t{day}",
                "timestamp": START + day * _DAY,
                "card_id": f"c{day}",
                "amount": 10.0,
                "merchant_id": "m0",
                "is_fraud": int(fraud),
                "fraud_reported_at": START + day * _DAY + _WEEK if fraud else None,
            }
        )
    table = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
    batch, _ = ProfileState().run(table)
    live = ProfileState()
    cols = [FEATURE_INDEX["merchant_fraud_run_hours"], FEATURE_INDEX["merchant_fraud_run_length"]]
    for i, r in enumerate(rows):
        txn = _txn(i, r["timestamp"] - START)
        for q in rows[:i]:
            if q["is_fraud"] and q["fraud_reported_at"] == r["timestamp"]:
                live.report_fraud(q["txn_id"], "m0", q["fraud_reported_at"])
        live.advance(to_us(txn.timestamp))
        assert list(live.features(txn)[cols]) == list(batch[i, cols]), i
        live.update(txn)
    assert list(batch[9, cols]) == [0.0, 1.0] and list(batch[11, cols]) == [48.0, 3.0]


def test_labels_of_one_instant_count_in_position_order_however_they_were_reported() -> None:
    """Two consecutive attempts reported at the same instant are a run of two, whether or not
    the second payment had been seen when it was reported (live) and as a batch counts them."""
    due = START + 8 * _DAY
    live = ProfileState()
    live.update(_txn(1, 1 * _DAY))
    live.report_fraud("t1", "m0", due)
    live.report_fraud("t2", "m0", due)  # its payment comes next
    live.update(_txn(2, 2 * _DAY))
    assert _run(live, 8 * _DAY) == (0.0, 2.0)

    rows = [
        {
            "txn_id": f"t{i}",
            "timestamp": START + i * _DAY,
            "card_id": f"c{i}",
            "amount": 10.0,
            "merchant_id": "m0",
            "is_fraud": 1,
            "fraud_reported_at": due,
        }
        for i in (1, 2)
    ]
    batch = ProfileState()
    batch.run(pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA))
    assert _run(batch, 8 * _DAY) == (0.0, 2.0)


def test_a_reported_payments_zscore_is_kept_when_the_log_forgets_it_before_it_is_due() -> None:
    """The z-score is read when the fraud is reported, like its amount: compacting the event
    log before the label is counted changes nothing."""
    col = FEATURE_INDEX["merchant_fraud_zscore_mean_30d"]

    def reported(compact: bool) -> float:
        state = ProfileState()
        for i, amount in enumerate((10.0, 12.0, 11.0, 90.0)):  # the last one is the fraud
            state.update(
                Transaction(
                    txn_id=f"t{i}",
                    timestamp=START + i * _DAY,
                    card_id="c0",
                    amount=amount,
                    merchant_id="m0",
                )
            )
        due = START + 40 * _DAY
        state.report_fraud("t3", "m0", due)
        if compact:
            state.compact(to_us(due))
        txn = _txn(9, 40 * _DAY)
        state.advance(to_us(txn.timestamp))
        return float(state.features(txn)[col])

    assert reported(compact=False) == reported(compact=True) > 1.0
