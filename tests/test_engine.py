"""The decision's order (controls, exposure, rules, model), its codes and reasons, and the live
engine's read-then-update contract."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardwatch.engine import (
    CardControls,
    Engine,
    ExposureFlags,
    ModelScorer,
    Policy,
    decision_id,
    judge,
)
from cardwatch.profiles import FEATURE_INDEX, N_FEATURES
from cardwatch.replay import feature_frame, replay_into
from cardwatch.schema import Action, Reason, Transaction
from tests.profiles.fakes import LinearScorer
from tests.profiles.histories import START, cards_table, histories, live_run

POLICY = Policy(decline_at=0.8, challenge_at=0.5, exposed_decline_at=0.6, exposed_challenge_at=0.3)
NO = ExposureFlags()
MODEL_REASON = [Reason("amount_ratio_to_mean", "far above the usual amount")]


def _x(**values: float) -> np.ndarray:
    x = np.zeros(N_FEATURES)
    x[FEATURE_INDEX["amount"]] = 20.0
    for name, v in values.items():
        x[FEATURE_INDEX[name]] = v
    return x


def _judge(
    score: float,
    x: np.ndarray | None = None,
    rule=(None, None),
    ctl=None,
    flags=NO,
    merchant="m",
    mcc=None,
    country="FR",
    entry="chip",
):
    return judge(
        _x() if x is None else x,
        score,
        rule[0],
        rule[1],
        ctl,
        flags,
        merchant,
        mcc,
        country,
        entry,
        POLICY,
        lambda: MODEL_REASON,
    )


ALLOW = (Action.APPROVE, Reason("rule:trusted", "trusted"))
REVIEW = (Action.REVIEW, Reason("rule:watch", "watch"))


def test_frozen_card_is_declined_62_whatever_else() -> None:
    action, code, why = _judge(0.0, rule=ALLOW, ctl=CardControls(frozen=True))
    assert (action, code, [r.code for r in why]) == (Action.DECLINE, "62", ["card_frozen"])


@pytest.mark.parametrize(
    ("ctl", "x", "mcc", "country", "expected"),
    [
        (
            CardControls(block_card_not_present=True),
            _x(card_not_present=1),
            None,
            "FR",
            "blocked_card_not_present",
        ),
        (CardControls(block_abroad=True), _x(cross_border=1), None, "US", "blocked_abroad"),
        (CardControls(blocked_countries=frozenset({"US"})), _x(), None, "US", "blocked_country"),
        (CardControls(blocked_mccs=frozenset({"7995"})), _x(), "7995", "FR", "blocked_mcc"),
        (CardControls(max_amount=10.0), _x(), None, "FR", "over_cardholder_limit"),
    ],
)
def test_cardholder_blocks_decline_57(ctl, x, mcc, country, expected) -> None:
    action, code, why = _judge(0.0, x=x, ctl=ctl, mcc=mcc, country=country)
    assert (action, code, why[0].code) == (Action.DECLINE, "57", expected)


def test_allow_listed_merchant_and_it_was_me_approve_despite_the_model() -> None:
    for ctl, reason in (
        (CardControls(allowed_merchants=frozenset({"m"})), "allowed_merchant"),
        (CardControls(confirmed_merchants=frozenset({"m"})), "cardholder_confirmed"),
    ):
        action, code, why = _judge(0.99, ctl=ctl)
        assert (action, code, why[0].code) == (Action.APPROVE, "00", reason)


def test_counterfeit_magstripe_abroad_on_exposed_card_is_declined_59() -> None:
    flags = ExposureFlags(exposed=True, counterfeit_risk=True)
    action, code, why = _judge(
        0.0, x=_x(cross_border=1), rule=ALLOW, flags=flags, country="US", entry="magstripe"
    )
    assert (action, code, why[0].code) == (Action.DECLINE, "59", "exposed_counterfeit")
    # at home, or by chip, it is not the counterfeit pattern
    assert _judge(0.0, flags=flags, entry="magstripe")[0] is Action.APPROVE


def test_card_not_present_on_exposed_card_is_at_least_challenged() -> None:
    flags = ExposureFlags(exposed=True)
    action, code, why = _judge(0.0, x=_x(card_not_present=1), rule=ALLOW, flags=flags)
    assert (action, code) == (Action.CHALLENGE, "05")
    assert [r.code for r in why] == ["rule:trusted", "exposed_card_not_present"]
    assert _judge(0.9, x=_x(card_not_present=1), flags=flags)[0] is Action.DECLINE


def test_exposed_cards_get_the_tighter_cut_offs() -> None:
    assert _judge(0.4)[0] is Action.APPROVE
    assert _judge(0.4, flags=ExposureFlags(exposed=True))[0] is Action.CHALLENGE
    assert _judge(0.7, flags=ExposureFlags(exposed=True))[0] is Action.DECLINE


def test_rules_decide_before_the_model_and_review_yields_to_it() -> None:
    assert _judge(0.95, rule=ALLOW)[:2] == (Action.APPROVE, "00")
    assert _judge(0.1, rule=(Action.DECLINE, Reason("rule:x", "x")))[:2] == (Action.DECLINE, "59")
    assert _judge(0.1, rule=REVIEW)[:2] == (Action.REVIEW, "00")
    action, code, why = _judge(0.95, rule=REVIEW)
    assert (action, code, why) == (Action.DECLINE, "59", MODEL_REASON)


def test_model_cut_offs_are_strictly_above() -> None:
    assert _judge(0.5)[0] is Action.APPROVE
    assert _judge(0.5000001)[:2] == (Action.CHALLENGE, "05")
    assert _judge(0.8)[0] is Action.CHALLENGE
    assert _judge(0.81)[:2] == (Action.DECLINE, "59")


@given(
    st.floats(0, 1),
    st.sampled_from([None, Action.APPROVE, Action.REVIEW, Action.CHALLENGE, Action.DECLINE]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_every_non_approval_has_a_reason(score, rule_action, exposed, cf, cnp, abroad) -> None:
    rule = (rule_action, None if rule_action is None else Reason("rule:r", "r"))
    x = _x(card_not_present=float(cnp), cross_border=float(abroad))
    flags = ExposureFlags(exposed=exposed, counterfeit_risk=cf)
    action, code, why = judge(
        x, score, *rule, None, flags, "m", None, "US", "magstripe", POLICY, lambda: []
    )
    if action not in (Action.APPROVE, Action.REVIEW):
        assert why and code in ("05", "59")
    else:
        assert code == "00"


def _txn(i: int, **kw) -> Transaction:
    base = dict(
        txn_id=f"t{i}",
        timestamp=START + timedelta(minutes=i),
        card_id="c0",
        amount=50.0,
        merchant_id=f"m{i}",
        channel="card_present",
        entry_mode="magstripe",
        merchant_country="US",
    )
    base.update(kw)
    return Transaction(**base)


def test_decide_reads_and_update_learns() -> None:
    engine = Engine(LinearScorer(), policy=POLICY)
    first = engine.decide(_txn(0))
    assert engine.decide(_txn(0)) == first  # deciding changes nothing
    assert first.decision_id == decision_id("t0")
    engine.update(_txn(0))
    ev = engine.evaluate(_txn(1))
    assert ev.features[FEATURE_INDEX["card_txn_count_1h"]] == 1
    declined = first.response_code != "00"
    assert ev.features[FEATURE_INDEX["card_declines_24h"]] == int(declined)
    assert ev.values["home_country"] == "FR" and ev.values["score"] == ev.score


def test_update_with_an_explicit_decline_counts_it() -> None:
    engine = Engine(LinearScorer(), policy=POLICY)
    d = engine.decide(_txn(0))
    d.response_code, d.action = "59", Action.DECLINE
    engine.update(_txn(0), d)
    assert engine.evaluate(_txn(1)).features[FEATURE_INDEX["card_declines_24h"]] == 1


def test_labels_count_only_from_their_report_time() -> None:
    engine = Engine(LinearScorer(), policy=POLICY)
    engine.decide(_txn(0, merchant_id="shop"))
    engine.update(_txn(0, merchant_id="shop"))
    engine.report_fraud("t0", "shop", START + timedelta(minutes=30))
    engine.report_fraud("t0", "shop", START + timedelta(minutes=30))  # twice counts once
    rate = FEATURE_INDEX["merchant_fraud_rate"]
    assert engine.evaluate(_txn(29, merchant_id="shop")).features[rate] == 0
    assert engine.evaluate(_txn(30, merchant_id="shop")).features[rate] == 1


@settings(max_examples=3, deadline=None)
@given(histories(max_rows=60).filter(lambda h: h.num_rows >= 4))
def test_model_scorer_batch_equals_one_row_and_replays_like_live(history: pa.Table) -> None:
    from cardwatch.model import FraudModel

    frame = feature_frame(history, cards_table())
    names = [
        "amount",
        "card_txn_count_24h",
        "first_time_merchant",
        "cross_border",
        "card_declines_24h",
        "merchant_fraud_rate",
    ]
    X = np.column_stack([np.asarray(frame.column(n), dtype=float) for n in names])
    rng = np.random.default_rng(0)
    y = (rng.random(X.shape[0]) < 0.3).astype(int)
    y[:2] = (0, 1)
    model = FraudModel(n_estimators=5, min_child_samples=2, num_threads=1, threshold_holdout=0).fit(
        X, y, names
    )
    scorer = ModelScorer(model)
    batch = scorer.score_batch(X)
    assert [scorer.score(row) for row in X] == batch.tolist()
    policy = Policy.from_thresholds(model.thresholds_)
    result = replay_into(Engine(scorer, policy=policy, cards=cards_table()), history)
    decisions, feats = live_run(Engine(scorer, policy=policy, cards=cards_table()), history)
    np.testing.assert_array_equal(feats, result.features)
    assert [d.score for d in decisions] == result.scores.tolist()
    assert [d.action.value for d in decisions] == result.decisions["action"].to_pylist()
