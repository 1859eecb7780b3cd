"""Ensembles of boosters (``n_models``): one forest scoring the members' mean log-odds, saved,
loaded, compiled and explained like a single model."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from cardwatch.model import FraudModel, ModelRegistry
from cardwatch.model.ensemble import average_boosters
from cardwatch.workspace import Workspace

from .conftest import FEATURES, make_data, random_rows

KW = {"n_estimators": 25, "num_leaves": 15, "min_child_samples": 20, "honest_rows": 4_000}


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray]:
    return make_data(20_000, seed=5)


@pytest.fixture(scope="module")
def ensemble(rows: tuple[np.ndarray, np.ndarray]) -> FraudModel:
    X, y = rows
    return FraudModel(n_models=3, seed=7, **KW).fit(X, y, FEATURES)


def test_the_ensemble_scores_the_mean_log_odds_of_its_members(
    rows: tuple[np.ndarray, np.ndarray], ensemble: FraudModel
) -> None:
    """Member i is the single model of seed ``seed + 1000 * i`` (its own honest sample and
    subsamples); the ensemble's log-odds are their mean, by the compiled walk and by LightGBM."""
    X, y = rows
    members = [FraudModel(seed=s, **KW).fit(X, y, FEATURES) for s in (7, 1007, 2007)]
    Z = random_rows(500, len(FEATURES), seed=3)
    mean = np.mean([m.predict_raw(Z) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict_raw(Z), mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        ensemble.booster_.predict(Z, raw_score=True), mean, rtol=0, atol=1e-12
    )
    assert ensemble.booster_.num_trees() == 3 * KW["n_estimators"]
    assert ensemble.member_seeds() == [7, 1007, 2007]
    # the members differ (else averaging would be pointless)
    assert np.abs(members[0].predict_raw(Z) - members[1].predict_raw(Z)).max() > 1e-3


def test_one_model_is_a_single_booster(rows: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rows
    model = FraudModel(seed=7, **KW).fit(X, y, FEATURES)
    assert model.booster_.num_trees() == KW["n_estimators"]
    assert model.member_seeds() == [7]
    with pytest.raises(ValueError, match="n_models"):
        FraudModel(n_models=0, **KW).fit(X, y, FEATURES)


def test_an_ensemble_saves_loads_and_scores_the_same(
    workspace: Workspace, ensemble: FraudModel
) -> None:
    registry = ModelRegistry.for_workspace(workspace)
    stored = registry.load(registry.save(ensemble, {"note": "ensemble"}))
    loaded = stored.model
    assert stored.meta["num_trees"] == 3 * KW["n_estimators"]
    assert loaded.get_params() == ensemble.get_params()
    assert loaded.n_models == 3
    assert loaded.thresholds_ == ensemble.thresholds_
    Z = random_rows(300, len(FEATURES), seed=4)
    np.testing.assert_array_equal(loaded.predict_proba(Z), ensemble.predict_proba(Z))
    for z in Z[:20]:
        assert loaded.score_one(z) == ensemble.score_one(z)


def test_an_ensemble_gives_reasons_and_contributions_that_add_up(
    rows: tuple[np.ndarray, np.ndarray], ensemble: FraudModel
) -> None:
    X, _ = rows
    top = X[np.argsort(ensemble.predict_proba(X))[-5:]]
    for x in top:
        raw = float(ensemble.predict_raw(x[None, :])[0])
        for method in ("shap", "path"):
            contrib = ensemble.contributions(x, method=method)
            assert contrib.sum() == pytest.approx(raw, abs=1e-9)
        shap = ensemble.contributions(x)
        lgb_shap = ensemble.booster_.predict(x[None, :], pred_contrib=True)[0]
        np.testing.assert_allclose(shap, lgb_shap, atol=1e-9)
        reasons = ensemble.reasons(x, k=3)
        assert reasons and all(r.code for r in reasons)


def test_averaging_boosters_checks_its_input() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] > 1).astype(int)
    params = {"objective": "binary", "verbosity": -1, "num_threads": 1}
    a = lgb.train(params, lgb.Dataset(X, y), num_boost_round=3)
    b = lgb.train(params, lgb.Dataset(X[:, :2], y), num_boost_round=3)
    assert average_boosters([a]) is a
    with pytest.raises(ValueError, match="no boosters"):
        average_boosters([])
    with pytest.raises(ValueError, match="same features"):
        average_boosters([a, b])
    merged = average_boosters([a, a])
    np.testing.assert_allclose(
        merged.predict(X, raw_score=True), a.predict(X, raw_score=True), atol=1e-12
    )
    text = merged.model_to_string()
    assert "tree_sizes=" in text and text.count("\nTree=") == 6
