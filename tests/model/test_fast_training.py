"""Training on a weighted sample of honest rows, sample weights, and early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from cardwatch.model import FraudModel, roc_auc

from .conftest import FEATURES, make_data


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, np.ndarray]:
    return make_data(60_000, seed=11)


def _mean_score(honest_rows: int | None, X: np.ndarray, y: np.ndarray) -> float:
    model = FraudModel(
        n_estimators=30, num_leaves=7, honest_rows=honest_rows, threshold_holdout=0
    ).fit(X, y, FEATURES)
    return float(model.predict_proba(X).mean())


def test_a_weighted_honest_sample_keeps_scores_probabilities(
    big: tuple[np.ndarray, np.ndarray],
) -> None:
    """The mean score stays near the fraud rate when only a tenth of honest rows train, which
    it would not if the sample were unweighted (frauds would look ten times more common)."""
    X, y = big
    rate = float(y.mean())
    sampled = _mean_score(5_000, X, y)
    assert abs(sampled - rate) < 0.25 * rate
    unweighted = FraudModel(n_estimators=30, num_leaves=7, threshold_holdout=0, honest_rows=None)
    keep = np.flatnonzero((y == 1) | (np.arange(len(y)) % 10 == 0))
    inflated = unweighted.fit(X[keep], y[keep], FEATURES).predict_proba(X).mean()
    assert inflated > 3 * rate


def test_the_sample_keeps_every_fraud_and_the_asked_number_of_honest_rows(
    big: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = big
    model = FraudModel(n_estimators=5, honest_rows=2_000, threshold_holdout=0).fit(X, y, FEATURES)
    assert model.n_train_rows_ == 2_000 + int(y.sum())
    everything = FraudModel(n_estimators=5, honest_rows=None, threshold_holdout=0)
    assert everything.fit(X, y, FEATURES).n_train_rows_ == len(y)


def test_sampling_still_learns_the_signal(big: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = big
    Xt, yt = make_data(20_000, seed=12)
    model = FraudModel(n_estimators=40, num_leaves=15, honest_rows=5_000).fit(X, y, FEATURES)
    assert roc_auc(yt, model.predict_proba(Xt)) > 0.8


def test_sample_weights_reach_the_trees(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Frauds weighted ten times count as ten frauds each: the scores rise about tenfold."""
    X, y = data
    kw = {"n_estimators": 20, "num_leaves": 7, "honest_rows": None, "threshold_holdout": 0.0}
    plain = FraudModel(**kw).fit(X, y, FEATURES).predict_proba(X).mean()
    heavy = FraudModel(**kw).fit(X, y, FEATURES, sample_weight=np.where(y == 1, 10.0, 1.0))
    assert heavy.predict_proba(X).mean() > 5 * plain


@pytest.mark.parametrize(
    ("weight", "message"),
    [(np.ones(3), "one weight per row"), (np.full(20_000, -1.0), "non-negative")],
)
def test_bad_weights_are_refused(
    data: tuple[np.ndarray, np.ndarray], weight: np.ndarray, message: str
) -> None:
    X, y = data
    with pytest.raises(ValueError, match=message):
        FraudModel(n_estimators=2).fit(X, y, FEATURES, sample_weight=weight)


def test_early_stopping_keeps_the_trees_up_to_the_best_round(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """A learning rate this high overfits within a few rounds: stopping keeps far fewer trees,
    and the model scores exactly as its booster (the trees after the best round are gone)."""
    X, y = data
    model = FraudModel(
        n_estimators=200, learning_rate=0.5, num_leaves=31, min_child_samples=5,
        early_stopping_rounds=5,
    ).fit(X, y, FEATURES)  # fmt: skip
    assert model.booster_.num_trees() < 200
    Xt, _ = make_data(200, seed=14)
    np.testing.assert_allclose(model.predict_proba(Xt), model.booster_.predict(Xt), atol=1e-12)


def test_early_stopping_needs_held_out_rows(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    model = FraudModel(
        n_estimators=20, early_stopping_rounds=2, threshold_holdout=0, learning_rate=0.5
    ).fit(X, y, FEATURES)
    assert model.booster_.num_trees() == 20
