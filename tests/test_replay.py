"""Replay equals live: the same features and the same decisions, row for row.

A random history is fed event by event through the live path (labels reported at their time,
``Engine.decide`` then ``Engine.update``) and replayed in bulk; everything must be identical,
including the declines feature that depends on earlier decisions (the replay's fixpoint).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardwatch.engine import CardControls, ConfirmedPayment, Engine, Policy
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.replay import feature_frame, replay, replay_into
from cardwatch.schema import HISTORY_SCHEMA
from tests.profiles.fakes import SAMPLE_RULES, DictControls, LinearScorer, WindowExposure
from tests.profiles.histories import START, cards_table, histories, live_run

POLICY = Policy(decline_at=0.7, challenge_at=0.35, exposed_decline_at=0.5, exposed_challenge_at=0.2)
_CONTROLS = {
    "none": None,
    "frozen": CardControls(frozen=True),
    "no_remote": CardControls(block_card_not_present=True),
    "no_abroad_travel_de": CardControls(block_abroad=True, travel_countries=frozenset({"DE"})),
    "allow_m1": CardControls(allowed_merchants=frozenset({"m1"}), max_amount=500.0),
    "confirmed_m2": CardControls(confirmed_merchants=frozenset({"m2"})),
    "confirmed_m1_online": CardControls(
        confirmed_payments=(ConfirmedPayment("m1", 130.0, "ecommerce", "EUR"),)
    ),
    "no_5812": CardControls(blocked_mccs=frozenset({"5812"}), blocked_countries=frozenset({"US"})),
}


@st.composite
def worlds(draw: st.DrawFn) -> tuple[pa.Table, DictControls, WindowExposure]:
    history = draw(histories())
    controls = {}
    exposure = {}
    for card in ("c0", "c1", "c2", "c3"):
        ctl = _CONTROLS[draw(st.sampled_from(sorted(_CONTROLS)))]
        if ctl is not None and draw(st.booleans()):
            controls[card] = ctl
        if draw(st.integers(0, 2)) == 0:
            since = START + timedelta(hours=draw(st.integers(0, 24 * 10)))
            exposure[card] = (since, draw(st.booleans()))
    return history, DictControls(controls), WindowExposure(exposure)


def _engine(controls: DictControls, exposure: WindowExposure) -> Engine:
    return Engine(LinearScorer(), SAMPLE_RULES, POLICY, controls, exposure, cards=cards_table())


def _assert_same(decisions: list, feats: np.ndarray, result, offset: int = 0) -> None:
    np.testing.assert_array_equal(feats, result.features[offset:])
    got = result.decisions.to_pylist()[offset:]
    for d, row in zip(decisions, got, strict=True):
        assert d.txn_id == row["txn_id"]
        assert d.score == row["score"]
        assert (d.action.value, d.response_code) == (row["action"], row["response_code"])
        assert ";".join(r.code for r in d.reasons) == row["reasons"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_replay_equalslive_run(world: tuple[pa.Table, DictControls, WindowExposure]) -> None:
    history, controls, exposure = world
    result = replay_into(_engine(controls, exposure), history)
    decisions, feats = live_run(_engine(controls, exposure), history)
    _assert_same(decisions, feats, result)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.floats(0, 1))
def test_warm_up_then_live_equals_replay(
    world: tuple[pa.Table, DictControls, WindowExposure], cut: float
) -> None:
    """Crash and restart: state rebuilt from the history so far, then live again."""
    history, controls, exposure = world
    k = int(cut * history.num_rows)
    full = replay_into(_engine(controls, exposure), history)
    engine = _engine(controls, exposure)
    warmed = engine.warm_up(history.slice(0, k))
    assert warmed.to_pylist() == full.decisions.slice(0, k).to_pylist()
    decisions, feats = live_run(engine, history, start=k)
    _assert_same(decisions, feats, full, offset=k)


def test_fixpoint_needs_more_than_one_pass_when_declines_feed_back() -> None:
    """Three quick risky attempts on one card: the first challenge raises the second's score."""
    rows = [
        {
            "txn_id": f"t{i}",
            "timestamp": START + timedelta(minutes=i),
            "card_id": "c0",
            "amount": 50.0,
            "merchant_id": f"m{i}",
            "merchant_country": "US",
            "channel": "card_present",
            "entry_mode": "magstripe",
        }
        for i in range(4)
    ]
    history = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
    result = replay_into(Engine(LinearScorer(), policy=POLICY), history)
    assert result.passes > 1
    assert result.features[:, FEATURE_INDEX["card_declines_24h"]].tolist() == [0, 0, 1, 2]
    decisions, feats = live_run(Engine(LinearScorer(), policy=POLICY), history)
    _assert_same(decisions, feats, result)


@settings(max_examples=5, deadline=None)
@given(histories())
def test_replay_columns_follow_the_contract(history: pa.Table) -> None:
    out = replay(history, cards_table(), LinearScorer(), SAMPLE_RULES, POLICY)
    assert out.column_names == ["txn_id", "score", "action", "response_code", "reasons"]
    assert out.num_rows == history.num_rows
    assert set(out.column("action").to_pylist()) <= {"approve", "review", "challenge", "decline"}
    scores = np.asarray(out.column("score"))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_feature_frame_hides_labels_not_yet_reported() -> None:
    rows = [
        {
            "txn_id": "a",
            "timestamp": START,
            "card_id": "c0",
            "amount": 5.0,
            "merchant_id": "m0",
            "is_fraud": 1,
            "fraud_reported_at": START + timedelta(days=3),
        },
        {
            "txn_id": "b",
            "timestamp": START + timedelta(days=1),
            "card_id": "c0",
            "amount": 5.0,
            "merchant_id": "m0",
            "is_fraud": 1,
            "fraud_reported_at": START + timedelta(days=9),
        },
    ]
    history = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
    frame = feature_frame(history, as_of=START + timedelta(days=5))
    assert frame.column("is_fraud").to_pylist() == [1, 0]
    assert frame.column("merchant_fraud_reported").to_pylist() == [0.0, 0.0]
    assert "score" not in frame.column_names
    everything = feature_frame(history, scorer=LinearScorer())
    assert everything.column("is_fraud").to_pylist() == [1, 1]
    assert "score" in everything.column_names


def test_unsorted_history_is_refused() -> None:
    rows = [
        {
            "txn_id": "a",
            "timestamp": START + timedelta(hours=1),
            "card_id": "c",
            "amount": 1.0,
            "merchant_id": "m",
        },
        {"txn_id": "b", "timestamp": START, "card_id": "c", "amount": 1.0, "merchant_id": "m"},
    ]
    with pytest.raises(ValueError, match="sorted"):
        replay(pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA))
