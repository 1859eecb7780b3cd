"""Compacting the event and declines logs is invisible: features and decisions stay bit for bit
those of a state that never forgets, and the logs stay about one longest window long."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardwatch.engine import Engine, Policy
from cardwatch.profiles import FEATURE_INDEX, WINDOWS_US, ProfileState, to_us
from cardwatch.profiles import state as state_module
from cardwatch.profiles.state import COMPACT_SLACK_US
from cardwatch.replay import replay_into
from cardwatch.schema import HISTORY_SCHEMA, Transaction
from tests.profiles.fakes import SAMPLE_RULES, LinearScorer
from tests.profiles.histories import START, cards_table, histories, live_run

POLICY = Policy(decline_at=0.7, challenge_at=0.35, exposed_decline_at=0.5, exposed_challenge_at=0.2)


def _engine(state: ProfileState | None = None) -> Engine:
    return Engine(LinearScorer(), SAMPLE_RULES, POLICY, cards=cards_table(), state=state)


def _tiny_state() -> ProfileState:
    """A state whose logs (events, declines, fraud labels) start with room for two entries, so
    that it compacts all the time."""
    state = ProfileState(cards_table())
    state.ev_i, state.ev_amt, state.dec_i = state.ev_i[:2], state.ev_amt[:2], state.dec_i[:2]
    state.lab_i = state.lab_i[:2]
    return state


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_live_with_compaction_at_any_moment_equals_replay(
    history: pa.Table, data: st.DataObject
) -> None:
    """The most eager compaction (at the very time of the next payment, no slack) changes
    nothing, wherever it happens."""
    at = set(data.draw(st.lists(st.integers(0, history.num_rows - 1), max_size=10)))
    engine = _engine()

    def compact(k: int, txn: Transaction) -> None:
        if k in at:
            engine.state.compact(to_us(txn.timestamp))

    decisions, feats = live_run(engine, history, before=compact)
    full = replay_into(_engine(), history)
    np.testing.assert_array_equal(feats, full.features)
    assert [(d.score, d.response_code) for d in decisions] == [
        (r["score"], r["response_code"]) for r in full.decisions.to_pylist()
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.floats(0, 1))
def test_replay_that_compacts_between_chunks_then_live_equals_replay(
    history: pa.Table, cut: float
) -> None:
    """Warm-up in chunks of three rows on tiny logs (compacting whenever one is full), then the
    live path with its own automatic compaction: as if nothing were ever forgotten."""
    k = int(cut * history.num_rows)
    full = replay_into(_engine(), history)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(state_module, "_CHUNK", 3)
        engine = _engine(_tiny_state())
        warmed = engine.warm_up(history.slice(0, k))
    assert warmed.to_pylist() == full.decisions.slice(0, k).to_pylist()
    decisions, feats = live_run(engine, history, start=k)
    np.testing.assert_array_equal(feats, full.features[k:])
    assert [d.response_code for d in decisions] == full.decisions.column(
        "response_code"
    ).to_pylist()[k:]


def test_the_live_logs_stay_about_one_window_long() -> None:
    """A year of a payment every hour on one card, declined every other time: the logs hold
    about the last 31 days, not the year."""
    engine = _engine()
    hours = 365 * 24
    for i in range(hours):
        txn = Transaction(
            txn_id=f"t{i}",
            timestamp=START + timedelta(hours=i),
            card_id=f"c{i % 3}",
            amount=10.0 + i % 7,
            merchant_id=f"m{i % 5}",
        )
        engine.decide(txn)
        engine.update(txn, None)
        if i % 2:
            engine.state.update(txn, declined=True)  # a second attempt, declined
    slack_hours = COMPACT_SLACK_US // WINDOWS_US[0]
    window_events = 2 * (WINDOWS_US[-1] // WINDOWS_US[0] + slack_hours)  # at most 2 an hour
    state = engine.state
    assert state.ev_i.shape[0] <= 4 * window_events < int(1.5 * hours)
    assert state.dec_i.shape[0] <= 4 * (WINDOWS_US[1] // WINDOWS_US[0] + slack_hours)
    row = pa.Table.from_pylist(
        [
            {
                "txn_id": "last",
                "timestamp": START + timedelta(hours=hours),
                "card_id": "c0",
                "amount": 1.0,
                "merchant_id": "m0",
            }
        ],
        schema=HISTORY_SCHEMA,
    )
    x, _ = state.run(row)
    c0 = [i for i in range(hours) if i % 3 == 0 for _ in range(1 + i % 2)]
    for name, hours_back in (("card_txn_count_24h", 24), ("card_txn_count_30d", 30 * 24)):
        expected = sum(1 for i in c0 if i > hours - hours_back)
        assert x[0, FEATURE_INDEX[name]] == expected
    assert x[0, FEATURE_INDEX["card_txn_count_total"]] == len(c0)
