"""Small synthetic fraud data and a model trained on it, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pytest

from cardwatch.model import FraudModel

FEATURES = [
    "amount_ratio_to_mean",
    "card_txn_count_1h",
    "km_from_last_cp",
    "magstripe_on_chip",
    "card_not_present",
    "noise_a",
    "noise_b",
    "noise_c",
]


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose fraud odds grow with amount ratio, velocity, distance and magstripe use.

    About a fifth of the distances are missing (no earlier in-person payment) and a tenth of
    every feature is missing at random, so the missing-value paths of the trees are exercised.
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.lognormal(0.0, 0.6, n),
            rng.poisson(0.5, n).astype(float),
            rng.exponential(30.0, n),
            (rng.random(n) < 0.05).astype(float),
            (rng.random(n) < 0.4).astype(float),
            rng.normal(size=n),
            rng.normal(size=n),
            np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)),
        ]
    )
    logit = (
        -6.0
        + 1.2 * np.log(X[:, 0])
        + 0.8 * X[:, 1]
        + 0.01 * X[:, 2]
        + 3.0 * X[:, 3]
        + 0.5 * X[:, 4]
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    X[rng.random(n) < 0.2, 2] = np.nan
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, y


def random_rows(n: int, d: int, seed: int) -> np.ndarray:
    """Rows with NaNs, exact zeros, infinities and values far outside the training range.

    Infinities matter: a split LightGBM dumps with threshold 1e300 really compares with +inf.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=3.0, size=(n, d))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[rng.random(X.shape) < 0.2] = 0.0
    X[rng.random(X.shape) < 0.02] = 1e300
    X[rng.random(X.shape) < 0.02] = np.inf
    X[rng.random(X.shape) < 0.02] = -np.inf
    return X


@pytest.fixture(scope="session")
def data() -> tuple[np.ndarray, np.ndarray]:
    return make_data(20_000, seed=1)


@pytest.fixture(scope="session")
def model(data: tuple[np.ndarray, np.ndarray]) -> FraudModel:
    X, y = data
    return FraudModel(n_estimators=40, num_leaves=15, min_child_samples=20, num_threads=1).fit(
        X, y, FEATURES
    )
