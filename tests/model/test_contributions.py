from __future__ import annotations

import numpy as np
import pytest

from cardwatch.model import FraudModel

from .conftest import random_rows


def test_shap_contributions_equal_lightgbm_pred_contrib(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = data
    rows = np.vstack([X[:200], random_rows(100, model.n_features_in_, seed=3)])
    expected = model.booster_.predict(rows, pred_contrib=True)
    got = np.array([model.contributions(r) for r in rows])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["shap", "path"])
def test_contributions_sum_to_the_raw_score(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray], method: str
) -> None:
    X, _ = data
    raw = model.predict_raw(X[:200])
    for i in range(200):
        contrib = model.contributions(X[i], method=method)
        assert contrib.shape == (model.n_features_in_ + 1,)
        assert contrib.sum() == pytest.approx(raw[i], abs=1e-9)


def test_path_contributions_point_at_the_same_strongest_feature_mostly(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = data
    risky = X[np.argsort(-model.predict_proba(X))[:50]]
    agree = [
        np.argmax(model.contributions(r)[:-1]) == np.argmax(model.contributions(r, "path")[:-1])
        for r in risky
    ]
    assert np.mean(agree) >= 0.7


def test_contributions_reject_wrong_shapes_and_methods(model: FraudModel) -> None:
    with pytest.raises(ValueError, match="feature values"):
        model.contributions(np.zeros(3))
    with pytest.raises(ValueError, match="method"):
        model.contributions(np.zeros(model.n_features_in_), method="lime")
