"""The fraud model: LightGBM gradient-boosted trees behind a scikit-learn-shaped wrapper.

Why LightGBM: on tabular fraud features boosted trees are the strongest widely-used learner (the
Handbook's best published scores are tree ensembles), they take missing values natively (a first
payment has no "distance from the last one"), and they train in minutes on millions of rows.
Why a wrapper: training is LightGBM's, but live scoring is not — the trained trees are compiled
(:mod:`cardwatch.model.compiled`) so one authorisation is scored in microseconds, and the
thresholds that turn a score into an action travel with the model that produced the score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator

from cardwatch.model.compiled import CompiledForest, compile_booster
from cardwatch.model.ensemble import average_boosters
from cardwatch.model.reasons import explain
from cardwatch.model.thresholds import Thresholds, choose_thresholds
from cardwatch.model.treeshap import tree_shap
from cardwatch.schema import Reason

__all__ = ["FraudModel"]


class FraudModel(BaseEstimator):  # type: ignore[misc]
    """Gradient-boosted trees for P(fraud), with compiled scoring, reasons and thresholds.

    Defaults suit imbalanced fraud data: many small-learning-rate trees, leaves that must hold
    ``min_child_samples`` rows (a leaf of three frauds is noise), row and column subsampling, and
    no class re-weighting (``scale_pos_weight=1``) so that scores stay probabilities, which the
    thresholds and the engine rely on. Training is deterministic for a given ``seed`` and
    ``num_threads`` (``0``: LightGBM's default, all cores).

    Training is fast by default, measured on the default world (``docs/model.md``): at most
    ``honest_rows`` honest rows train the trees (every fraud does; the sample is weighted so
    scores stay probabilities), which cost nothing in AUC or average precision there and cut
    the rows five-fold; and one thread, because on tens of thousands of rows LightGBM's threads
    spend more time waiting for each other than working (ten times slower on a busy two-core
    machine). ``early_stopping_rounds`` stops boosting when the held-out average precision has
    not improved for that many rounds (off by default: it costs a scoring pass per round and
    saved nothing there).

    ``n_models`` above 1 trains that many boosters and averages their log-odds ("balanced
    bagging" when ``honest_rows`` is small): member ``i`` has its own seed (``seed + 1000 * i``),
    so its own sample of honest rows and its own row and column subsamples. Their average is
    stored, compiled and explained as one forest of ``n_models * n_estimators`` trees whose leaf
    values are divided by ``n_models`` (:func:`~cardwatch.model.ensemble.average_boosters`), so
    scoring costs grow with the trees. One model by default; the Handbook benchmark's setting
    (five members of 5,000 honest rows each, chosen on its validation weeks) is in
    ``docs/model.md``.

    Thresholds are set on honest rows the trees did not learn from: ``X_valid``/``y_valid`` when
    given, else the last ``threshold_holdout`` share of the rows (history is in time order), which
    are then left out of training; ``threshold_holdout=0`` trains on everything and sets them in
    sample (optimistic: more honest declines than targeted).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3))
    >>> y = (X[:, 0] + 0.3 * rng.normal(size=2000) > 1.5).astype(int)
    >>> model = FraudModel(n_estimators=20, num_threads=1).fit(X, y, ["a", "b", "c"])
    >>> p = model.predict_proba(X)
    >>> bool(abs(model.score_one(X[0]) - p[0]) < 1e-12), bool(p[y == 1].min() > p[y == 0].mean())
    (True, True)
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        scale_pos_weight: float = 1.0,
        max_bin: int = 255,
        honest_rows: int | None = 100_000,
        n_models: int = 1,
        early_stopping_rounds: int = 0,
        seed: int = 0,
        num_threads: int = 1,
        target_false_decline_rate: float = 0.001,
        target_challenge_rate: float = 0.003,
        threshold_holdout: float = 0.2,
        lgb_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.scale_pos_weight = scale_pos_weight
        self.max_bin = max_bin
        self.honest_rows = honest_rows
        self.n_models = n_models
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.num_threads = num_threads
        self.target_false_decline_rate = target_false_decline_rate
        self.target_challenge_rate = target_challenge_rate
        self.threshold_holdout = threshold_holdout
        self.lgb_params = lgb_params

    # -- training -------------------------------------------------------------------------------

    def booster_params(self, seed: int | None = None) -> dict[str, Any]:
        """The LightGBM parameters ``fit`` trains with (also stored in a model's metadata);
        ``seed``: an ensemble member's (:meth:`member_seeds`), the model's by default."""
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "scale_pos_weight": self.scale_pos_weight,
            "max_bin": self.max_bin,
            "seed": self.seed if seed is None else seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        params.update(self.lgb_params or {})
        return params

    def member_seeds(self) -> list[int]:
        """The seed of each booster of the ensemble: ``seed``, then ``seed + 1000``, …"""
        if self.n_models < 1:
            raise ValueError(f"n_models must be at least 1, got {self.n_models}")
        return [self.seed + 1000 * i for i in range(self.n_models)]

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        feature_names: Sequence[str] | None = None,
        *,
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> FraudModel:
        """Learn the trees on ``X`` (rows in time order), ``y`` (1 = fraud), then the thresholds.

        ``sample_weight`` (one non-negative weight per row of ``X``) weighs the training rows;
        the rows that set the thresholds are counted unweighted, one payment one vote.
        """
        X, y = _check_xy(X, y)
        names = _check_names(feature_names, X.shape[1])
        w = _check_weight(sample_weight, X.shape[0])
        held_out = True
        if X_valid is not None and y_valid is not None:
            X_valid, y_valid = _check_xy(X_valid, y_valid, X.shape[1])
            X_train, y_train, w_train = X, y, w
        elif self.threshold_holdout > 0:
            cut = X.shape[0] - math.floor(X.shape[0] * self.threshold_holdout)
            X_train, y_train, X_valid, y_valid = X[:cut], y[:cut], X[cut:], y[cut:]
            w_train = None if w is None else w[:cut]
            if X_valid.shape[0] == 0:
                raise ValueError("threshold_holdout leaves no rows to set thresholds on")
        else:
            X_train, y_train, X_valid, y_valid, w_train = X, y, X, y, w
            held_out = False
        if np.unique(y_train).size < 2:
            raise ValueError("training rows need both frauds (1) and honest transactions (0)")
        stop_on = (X_valid, y_valid) if held_out and np.unique(y_valid).size == 2 else None
        boosters = []
        for seed in self.member_seeds():
            keep, w_member = self._sample_honest(y_train, w_train, seed)
            X_m, y_m = (X_train, y_train) if keep is None else (X_train[keep], y_train[keep])
            data = lgb.Dataset(X_m, label=y_m, weight=w_member, feature_name=names)
            boosters.append(self._train(data, stop_on, seed))
            self.n_train_rows_ = int(X_m.shape[0])
        self._set_fitted(average_boosters(boosters), names)
        honest = self.predict_proba(X_valid[y_valid == 0])
        self.thresholds_ = choose_thresholds(
            honest, self.target_false_decline_rate, self.target_challenge_rate
        )
        return self

    def _sample_honest(
        self, y: np.ndarray, w: np.ndarray | None, seed: int
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Rows that train the trees (``None``: all) and their weights.

        Why: honest payments outnumber frauds a thousand to one, and past a few tens of
        thousands more of them teach the trees little while costing time in proportion. Every
        fraud is kept; ``honest_rows`` honest rows are drawn at random (seeded) and weighted by
        how many each stands for, so the weighted loss is the full data's in expectation and the
        scores stay probabilities, which the thresholds and the rules (``score > 0.97``) rely on.
        """
        honest = np.flatnonzero(y == 0)
        if self.honest_rows is None or honest.size <= self.honest_rows:
            return None, w
        if self.honest_rows < 1:
            raise ValueError(f"honest_rows must be at least 1, got {self.honest_rows}")
        rng = np.random.default_rng(seed)
        chosen = rng.choice(honest, size=self.honest_rows, replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(y == 1), chosen]))
        factor = np.where(y[keep] == 0, honest.size / self.honest_rows, 1.0)
        return keep, factor if w is None else w[keep] * factor

    def _train(
        self, data: lgb.Dataset, stop_on: tuple[np.ndarray, np.ndarray] | None, seed: int
    ) -> lgb.Booster:
        """Boost ``n_estimators`` rounds, or stop ``early_stopping_rounds`` after the best
        average precision on held-out rows and keep the trees up to the best round.

        Early stopping needs rows the trees do not learn from, with frauds among them; without
        them every round is kept.
        """
        params = self.booster_params(seed)
        if self.early_stopping_rounds <= 0 or stop_on is None:
            return lgb.train(params, data, num_boost_round=self.n_estimators)
        X_valid, y_valid = stop_on
        valid = lgb.Dataset(X_valid, label=y_valid, reference=data)
        booster = lgb.train(
            {**params, "metric": "average_precision"},
            data,
            num_boost_round=self.n_estimators,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        best = booster.best_iteration
        if 0 < best < booster.num_trees():
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        return booster

    def _set_fitted(self, booster: lgb.Booster, names: list[str]) -> None:
        self.booster_ = booster
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.forest_: CompiledForest = compile_booster(booster.dump_model())
        self.forest_.proba_one(np.zeros(self.n_features_in_))  # compile or load the kernel now

    @classmethod
    def from_booster(
        cls,
        booster: lgb.Booster,
        thresholds: Thresholds,
        params: Mapping[str, Any] | None = None,
    ) -> FraudModel:
        """A fitted model from a trained booster (as the registry loads it).

        Parameters this version does not know (stored by another version) are ignored.
        """
        known = cls._get_param_names()
        model = cls(**{k: v for k, v in (params or {}).items() if k in known})
        model._set_fitted(booster, list(booster.feature_name()))
        model.thresholds_ = thresholds
        return model

    # -- scoring --------------------------------------------------------------------------------

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of fraud of each row of ``X``, shape ``(n,)``.

        One column, not scikit-learn's two: the engine and the metrics want P(fraud) only.
        """
        return self.forest_.proba_batch(self._check_X(X))

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of fraud of each row, LightGBM's ``predict(raw_score=True)``."""
        return self.forest_.raw_batch(self._check_X(X))

    def score_one(self, x: np.ndarray) -> float:
        """Probability of fraud of one row (a 1-D array of ``n_features_in_`` floats), fast.

        NaN marks a missing value. This is the live path: a few microseconds.
        """
        if x.shape != (self.n_features_in_,):
            raise ValueError(f"expected {self.n_features_in_} feature values, got {x.shape}")
        return self.forest_.proba_one(x)

    def contributions(self, x: np.ndarray, method: str = "shap") -> np.ndarray:
        """Each feature's contribution to the log-odds of one row, then the base value.

        ``n_features_in_ + 1`` entries summing to the row's raw score (LightGBM's
        ``pred_contrib`` layout). ``method="shap"`` is exact TreeSHAP, equal to LightGBM's
        (about a millisecond on 300 trees: compute it for declined or challenged rows);
        ``"path"`` is Saabas' path attribution, a few microseconds, cruder.
        """
        x = np.asarray(x)
        if x.shape != (self.n_features_in_,):
            raise ValueError(f"expected {self.n_features_in_} feature values, got {x.shape}")
        if method == "shap":
            return tree_shap(self.forest_, x)
        if method == "path":
            return self.forest_.path_contributions(x)
        raise ValueError(f"unknown contribution method {method!r}: use 'shap' or 'path'")

    def reasons(
        self,
        x: np.ndarray,
        k: int = 3,
        context: Mapping[str, Any] | None = None,
        method: str = "shap",
    ) -> list[Reason]:
        """The ``k`` strongest reasons this row looks like fraud, in plain words."""
        contrib = self.contributions(x, method=method)
        return explain(contrib, list(self.feature_names_in_), x, k=k, context=context)

    def _check_X(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected shape (n, {self.n_features_in_}), got {X.shape}")
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        return X


def _check_xy(
    X: np.ndarray, y: np.ndarray, n_features: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"expected {n_features} features, got {X.shape[1]}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row ({X.shape[0]}), got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold only 0 (honest) and 1 (fraud)")
    return X.astype(np.float64, copy=False), y.astype(np.int8)


def _check_weight(sample_weight: np.ndarray | None, n_rows: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight must have one weight per row ({n_rows}), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return w


def _check_names(feature_names: Sequence[str] | None, n_features: int) -> list[str]:
    if feature_names is None:
        return [f"f{i}" for i in range(n_features)]
    names = [str(n) for n in feature_names]
    if len(names) != n_features:
        raise ValueError(f"{len(names)} feature names for {n_features} features")
    if len(set(names)) != len(names):
        raise ValueError("feature names must be unique")
    return names
