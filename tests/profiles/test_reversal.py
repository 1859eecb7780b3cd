"""Reversals (0400/0420): a reverted payment stops counting in the velocity windows, so that
every later payment's window features are those of a history without it, whatever expires or
is compacted in between; what cannot be undone (first-time sets, usual amount) stays."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardwatch.engine import Engine, Policy
from cardwatch.profiles import FEATURE_INDEX, WINDOWS_US, ProfileState, to_us
from cardwatch.profiles.kernel import M_EVENTS
from cardwatch.schema import Decision, Transaction
from tests.profiles.fakes import SAMPLE_RULES, LinearScorer
from tests.profiles.histories import START, cards_table, histories, transactions

POLICY = Policy(decline_at=0.7, challenge_at=0.35, exposed_decline_at=0.5, exposed_challenge_at=0.2)
COUNTS = [
    FEATURE_INDEX[n]
    for n in (
        "card_txn_count_1h",
        "card_txn_count_24h",
        "card_txn_count_7d",
        "card_txn_count_30d",
        "card_declines_24h",
        "merchant_txn_count_24h",
        "merchant_txn_count_30d",
    )
]
SUMS = [
    FEATURE_INDEX[n]
    for n in (
        "card_amount_sum_1h",
        "card_amount_sum_24h",
        "card_amount_sum_7d",
        "card_amount_sum_30d",
        "card_amount_mean_30d",
        "amount_ratio_to_mean",
    )
]


def _engine(tiny: bool = False) -> Engine:
    state = ProfileState(cards_table())
    if tiny:  # room for two entries: the logs compact all the time
        state.ev_i, state.ev_amt, state.dec_i = state.ev_i[:2], state.ev_amt[:2], state.dec_i[:2]
        state.lab_i = state.lab_i[:2]
    return Engine(LinearScorer(), SAMPLE_RULES, POLICY, state=state)


def _txn(i: int, minutes: float, card: str = "c0", amount: float = 10.0) -> Transaction:
    return Transaction(
        txn_id=f"t{i}",
        timestamp=START + timedelta(minutes=minutes),
        card_id=card,
        amount=amount,
        merchant_id="m0",
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_reversal_equals_a_history_without_the_payment(
    history: pa.Table, data: st.DataObject
) -> None:
    """Rows ``:split`` are decided and folded in, row ``i`` among them is reversed, then the
    rest arrive: their window features are those of the same history without row ``i`` (given
    the same decisions on the other rows: they were really taken with row ``i`` present)."""
    txns = transactions(history)
    n = len(txns)
    if n < 2:
        return
    split = data.draw(st.integers(1, n - 1), label="split")
    i = data.draw(st.integers(0, split - 1), label="reversed")
    compact_at = set(data.draw(st.lists(st.integers(0, n - 1), max_size=6), label="compact"))
    tiny = data.draw(st.booleans(), label="tiny logs")

    live = _engine(tiny)
    decisions: list[Decision] = []
    feats = []
    for k, txn in enumerate(txns):
        if k in compact_at:  # the most eager compaction: at the very time of the next payment
            live.state.compact(to_us(txn.timestamp))
        if k == split:
            reverted = live.reverse(txns[i].txn_id)
            # only an event compacted away (expired from every window) can be unknown by now
            assert reverted or to_us(txns[i].timestamp) <= to_us(txn.timestamp) - WINDOWS_US[3]
            assert not live.reverse(txns[i].txn_id)
        x = live.evaluate(txn).features
        decisions.append(live.decide(txn))
        live.update(txn)
        feats.append(x)

    without = _engine()
    for k, txn in enumerate(txns):
        x = without.evaluate(txn).features
        if k != i:
            without.update(txn, decisions[k])
        if k >= split:
            np.testing.assert_array_equal(feats[k][COUNTS], x[COUNTS], err_msg=f"row {k}")
            np.testing.assert_allclose(feats[k][SUMS], x[SUMS], rtol=1e-9, atol=1e-6)


def test_reversal_lowers_the_windows_once() -> None:
    """Three payments in an hour, the second reversed: the fourth sees two; once the first
    hour has passed nothing is subtracted twice."""
    engine = _engine()
    for i, minutes in enumerate((0, 10, 20)):
        engine.decide(t := _txn(i, minutes, amount=10.0 * (i + 1)))
        engine.update(t)
    assert engine.reverse("t1")
    x = engine.evaluate(_txn(3, 30)).features
    assert x[FEATURE_INDEX["card_txn_count_1h"]] == 2
    assert x[FEATURE_INDEX["card_amount_sum_1h"]] == pytest.approx(40.0)
    assert x[FEATURE_INDEX["merchant_txn_count_24h"]] == 2
    # still counted where it cannot be undone: the card's attempts ever
    assert x[FEATURE_INDEX["card_txn_count_total"]] == 3
    later = engine.evaluate(_txn(3, 15 + 60)).features  # t0 and t1 expired, t2 still in
    assert later[FEATURE_INDEX["card_txn_count_1h"]] == 1
    assert later[FEATURE_INDEX["card_amount_sum_1h"]] == pytest.approx(30.0)
    assert later[FEATURE_INDEX["card_txn_count_24h"]] == 2


def test_reversal_takes_back_a_decline() -> None:
    engine = _engine()
    t0 = _txn(0, 0)
    engine.update(t0, Decision("t0", engine.decide(t0).action, "05", 0.9, []))
    before = engine.evaluate(_txn(1, 5)).features
    assert before[FEATURE_INDEX["card_declines_24h"]] == 1
    assert engine.reverse("t0")
    after = engine.evaluate(_txn(1, 5)).features
    assert after[FEATURE_INDEX["card_declines_24h"]] == 0
    assert after[FEATURE_INDEX["card_txn_count_1h"]] == 0
    assert after[FEATURE_INDEX["card_amount_sum_1h"]] == 0.0


def test_reverse_twice_or_unknown_is_false() -> None:
    engine = _engine()
    engine.decide(t := _txn(0, 0))
    engine.update(t)
    assert not engine.reverse("nope")
    assert engine.reverse("t0")
    assert not engine.reverse("t0")
    assert engine.evaluate(_txn(1, 1)).features[FEATURE_INDEX["card_txn_count_1h"]] == 0


def test_mapping_stays_bounded_by_the_log() -> None:
    """Only events still in the log can be reversed; compaction forgets the others."""
    state = ProfileState()
    day = timedelta(days=1)
    for i in range(200):
        state.update(
            Transaction(f"t{i}", START + i * day, "c0", 5.0, "m0"),
        )
    assert len(state._by_txn) == int(state.meta[M_EVENTS]) < 100  # one per event in the log
    assert not state.revert("t0")  # compacted away: expired from every window long ago
    assert state.revert("t199")
