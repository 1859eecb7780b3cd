from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from cardwatch.model import FraudModel, compile_booster
from cardwatch.model.compiled import _path_row, _raw_row

from .conftest import random_rows


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"zero_as_missing": True},
        {"use_missing": False},
        {"zero_as_missing": True, "use_missing": False},
    ],
    ids=["nan-missing", "zero-missing", "no-missing", "zero-no-missing"],
)
def test_compiled_scores_equal_lightgbm_raw_scores(params: dict[str, bool]) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, :3] = np.where(rng.random((3000, 3)) < 0.3, 0.0, X[:, :3])
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * (X[:, 2] > 0) > 1.0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbosity": -1, "num_threads": 1, **params},
        lgb.Dataset(X, y),
        num_boost_round=30,
    )
    forest = compile_booster(booster.dump_model())
    rows = random_rows(2000, 6, seed=1)
    expected = booster.predict(rows, raw_score=True)
    np.testing.assert_allclose(forest.raw_batch(rows), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(forest.proba_batch(rows), booster.predict(rows), atol=1e-12)
    for i in range(0, 2000, 97):
        assert forest.raw_one(rows[i]) == pytest.approx(expected[i], abs=1e-9)


def test_model_scores_equal_lightgbm_on_float32_and_float64(model: FraudModel) -> None:
    rows = random_rows(500, model.n_features_in_, seed=2)
    expected = model.booster_.predict(rows)
    np.testing.assert_allclose(model.predict_proba(rows), expected, atol=1e-12)
    rows32 = np.where(np.abs(rows) == 1e300, np.inf, rows).astype(np.float32)
    np.testing.assert_allclose(
        model.predict_proba(rows32), model.booster_.predict(rows32), atol=1e-12
    )
    for i in range(0, 500, 50):
        assert model.score_one(rows[i]) == pytest.approx(expected[i], abs=1e-12)
        batch = model.predict_proba(rows32[i : i + 1])[0]
        assert model.score_one(rows32[i]) == pytest.approx(batch, abs=1e-15)


def test_stumps_and_single_leaf_trees_compile() -> None:
    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = (X[:, 0] > 30).astype(int)
    booster = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 100, "verbosity": -1, "num_threads": 1},
        lgb.Dataset(X, y),
        num_boost_round=3,
    )  # too few rows to split: every tree is one leaf
    forest = compile_booster(booster.dump_model())
    assert forest.nodes.shape[0] == booster.num_trees()
    assert forest.raw_one(np.array([5.0])) == pytest.approx(
        booster.predict(np.array([[5.0]]), raw_score=True)[0], abs=1e-12
    )


def test_categorical_splits_are_refused() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 6, size=(2000, 1)).astype(float)
    y = np.isin(X[:, 0], (1, 4)).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1, "min_data_per_group": 5},
        lgb.Dataset(X, y, categorical_feature=[0]),
        num_boost_round=2,
    )
    with pytest.raises(ValueError, match="categorical"):
        compile_booster(booster.dump_model())


def test_a_batch_equals_its_rows_scored_alone_bit_for_bit(model: FraudModel) -> None:
    rows = random_rows(300, model.n_features_in_, seed=4)
    batch = model.predict_proba(rows)
    alone = np.array([model.score_one(r) for r in rows])
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(model.predict_raw(rows), [model.forest_.raw_one(r) for r in rows])


@pytest.mark.parametrize(
    "params",
    [{}, {"zero_as_missing": True}, {"use_missing": False}],
    ids=["nan-missing", "zero-missing", "no-missing"],
)
def test_lockstep_walks_equal_the_per_node_walk_bit_for_bit(params: dict[str, bool]) -> None:
    """The branch-free walks (a block of rows, every tree of one row) reach the same leaves as
    LightGBM's per-node decision, also for values exactly on a threshold, NaN, ±0, ±1e-36 and
    infinities, and add them in the same order."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 5))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, :2] = np.where(rng.random((3000, 2)) < 0.3, 0.0, X[:, :2])
    y = (np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 3]) > 0.5).astype(int)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 31, "verbosity": -1, "num_threads": 1, **params},
        lgb.Dataset(X, y),
        num_boost_round=25,
    )
    forest = compile_booster(booster.dump_model())
    splits = forest.nodes[forest.nodes["feature"] >= 0]
    rows = random_rows(700, 5, seed=5)
    for i in range(300):  # values exactly on thresholds, and near zero
        node = splits[rng.integers(splits.shape[0])]
        rows[i, node["feature"]] = node["value"]
        rows[i, rng.integers(5)] = rng.choice([1e-36, -1e-36, -0.0, 0.0])
    rows[:100] = np.nan_to_num(rows[:100], nan=0.5)  # some rows without NaN at all
    alone = np.array([_raw_row(r, forest.roots, forest.nodes) for r in rows])
    np.testing.assert_array_equal(forest.raw_batch(rows), alone)
    np.testing.assert_array_equal([forest.raw_one(r) for r in rows], alone)
    rows32 = np.where(np.abs(rows) == 1e300, np.inf, rows).astype(np.float32)
    np.testing.assert_array_equal(
        forest.raw_batch(rows32), forest.raw_batch(rows32.astype(np.float64))
    )
    expected = booster.predict(rows, raw_score=True)
    np.testing.assert_allclose(alone, expected, rtol=0, atol=1e-9)


def test_path_contributions_of_the_lockstep_walk_equal_the_per_node_walk(
    model: FraudModel,
) -> None:
    """Same credits, added in another order: equal to rounding, NaN rows included."""
    forest = model.forest_
    rows = random_rows(300, model.n_features_in_, seed=6)
    rows[:150] = np.nan_to_num(rows[:150], nan=0.25, posinf=1e300, neginf=-1e300)
    for r in rows:
        expected = _path_row(r, forest.roots, forest.nodes, forest.means, forest.n_features)
        np.testing.assert_allclose(forest.path_contributions(r), expected, rtol=0, atol=1e-12)
