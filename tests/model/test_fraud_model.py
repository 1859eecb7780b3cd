from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from cardwatch.model import FraudModel, roc_auc

from .conftest import FEATURES, make_data


def test_fit_learns_trailing_underscore_attributes_and_returns_self(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    model = FraudModel(n_estimators=5, num_threads=1)
    assert not hasattr(model, "booster_")
    assert model.fit(X, y, FEATURES) is model
    assert list(model.feature_names_in_) == FEATURES
    assert model.n_features_in_ == len(FEATURES)
    assert model.booster_.num_trees() == 5
    assert model.thresholds_.challenge <= model.thresholds_.decline


def test_init_stores_parameters_unchanged_and_clones() -> None:
    model = FraudModel(n_estimators=7, lgb_params={"min_gain_to_split": 0.1}, seed=3)
    params = model.get_params()
    assert params["n_estimators"] == 7 and params["seed"] == 3
    assert params["lgb_params"] == {"min_gain_to_split": 0.1}
    assert clone(model).get_params() == params
    assert model.booster_params()["min_gain_to_split"] == 0.1


def test_the_model_learns_the_signal(model: FraudModel) -> None:
    X, y = make_data(20_000, seed=7)
    assert roc_auc(y, model.predict_proba(X)) > 0.8


def test_training_is_deterministic_for_a_seed(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    a = FraudModel(n_estimators=10, seed=5, num_threads=2).fit(X, y, FEATURES)
    b = FraudModel(n_estimators=10, seed=5, num_threads=2).fit(X, y, FEATURES)
    assert a.booster_.model_to_string() == b.booster_.model_to_string()
    np.testing.assert_array_equal(a.predict_proba(X[:100]), b.predict_proba(X[:100]))


def test_predict_proba_is_a_probability_per_row(model: FraudModel) -> None:
    X, _ = make_data(1000, seed=8)
    p = model.predict_proba(X)
    assert p.shape == (1000,)
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-model.predict_raw(X))), atol=1e-15)


def test_thresholds_hold_their_false_decline_target_on_unseen_honest_rows(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    model = FraudModel(
        n_estimators=20, num_threads=1, target_false_decline_rate=0.01, target_challenge_rate=0.04
    ).fit(X, y, FEATURES)
    holdout = slice(len(y) - len(y) // 5, None)  # the default threshold_holdout=0.2
    honest = model.predict_proba(X[holdout][y[holdout] == 0])
    assert np.mean(honest > model.thresholds_.decline) <= 0.01
    assert np.mean(honest > model.thresholds_.challenge) <= 0.05
    assert np.mean(honest > model.thresholds_.challenge) > 0.03  # not absurdly strict either


def test_thresholds_can_come_from_a_validation_set(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    Xv, yv = make_data(5000, seed=9)
    model = FraudModel(n_estimators=5, num_threads=1).fit(X, y, FEATURES, X_valid=Xv, y_valid=yv)
    assert model.thresholds_.honest_count == int((yv == 0).sum())


@pytest.mark.parametrize(
    ("X", "y", "names", "message"),
    [
        (np.zeros(10), np.zeros(10), None, "2-D"),
        (np.zeros((10, 2)), np.zeros(9), None, "one label per row"),
        (np.zeros((10, 2)), np.full(10, 2), None, "only 0"),
        (np.zeros((10, 2)), np.zeros(10), ["a"], "feature names"),
        (np.zeros((10, 2)), np.zeros(10), ["a", "a"], "unique"),
        (np.zeros((10, 2)), np.zeros(10), ["a", "b"], "both frauds"),
    ],
)
def test_fit_refuses_bad_input(
    X: np.ndarray, y: np.ndarray, names: list[str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FraudModel(n_estimators=2, num_threads=1, threshold_holdout=0).fit(X, y, names)


def test_scoring_refuses_rows_of_the_wrong_width(model: FraudModel) -> None:
    with pytest.raises(ValueError, match="feature values"):
        model.score_one(np.zeros(model.n_features_in_ + 1))
    with pytest.raises(ValueError, match="shape"):
        model.predict_proba(np.zeros((3, 2)))


def test_reasons_name_the_features_that_made_a_row_risky(model: FraudModel) -> None:
    x = np.array([9.0, 4.0, 10.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    reasons = model.reasons(x, k=3)
    codes = [r.code for r in reasons]
    assert 1 <= len(reasons) <= 3
    assert set(codes) <= {"AMOUNT_UNUSUAL", "VELOCITY_1H", "MAGSTRIPE_ON_CHIP", "FAR_FROM_LAST"}
    assert "MAGSTRIPE_ON_CHIP" in codes or "AMOUNT_UNUSUAL" in codes
