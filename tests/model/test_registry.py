from __future__ import annotations

import json

import numpy as np
import pytest

from cardwatch.errors import NotFoundError
from cardwatch.model import FraudModel, ModelRegistry
from cardwatch.workspace import Workspace


def test_save_load_roundtrip(workspace: Workspace, model: FraudModel) -> None:
    registry = ModelRegistry.for_workspace(workspace)
    assert registry.versions() == []
    meta = {
        "as_of": "2024-03-01T00:00:00Z",
        "created_at": "2024-03-01T00:05:00Z",
        "train_from": "2024-01-01T00:00:00Z",
        "train_to": "2024-03-01T00:00:00Z",
        "metrics": {"auc": np.float64(0.91), "ap": float("nan")},
    }
    version = registry.save(model, meta)
    assert version == "v0001"
    assert (workspace.models_dir / "v0001" / "model.txt").is_file()
    stored = registry.load()
    assert stored.version == "v0001"
    assert stored.meta["as_of"] == meta["as_of"]
    assert stored.meta["metrics"] == {"auc": 0.91, "ap": None}
    assert stored.meta["feature_names"] == list(model.feature_names_in_)
    loaded = stored.model
    assert loaded.thresholds_ == model.thresholds_
    assert loaded.get_params() == model.get_params()
    rows = np.random.default_rng(0).normal(size=(50, model.n_features_in_))
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    assert loaded.score_one(rows[0]) == model.score_one(rows[0])
    json.loads((workspace.models_dir / "v0001" / "meta.json").read_text())  # strict JSON


def test_versions_grow_and_load_picks_latest_or_asked(
    workspace: Workspace, model: FraudModel
) -> None:
    registry = ModelRegistry.for_workspace(workspace)
    for i in range(3):
        registry.save(model, {"note": i})
    assert registry.versions() == ["v0001", "v0002", "v0003"]
    assert registry.load().meta["note"] == 2
    assert registry.load("v0002").meta["note"] == 1
    assert registry.load(1).meta["note"] == 0
    assert not [p for p in workspace.models_dir.iterdir() if p.name.startswith(".")]


def test_missing_models_are_not_found(workspace: Workspace, model: FraudModel) -> None:
    registry = ModelRegistry.for_workspace(workspace)
    with pytest.raises(NotFoundError, match="no model"):
        registry.load()
    registry.save(model)
    with pytest.raises(NotFoundError, match="v0009"):
        registry.load("v0009")


def test_unfitted_models_are_refused(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="fitted"):
        ModelRegistry.for_workspace(workspace).save(FraudModel())


def test_load_ignores_parameters_it_does_not_know(workspace: Workspace, model: FraudModel) -> None:
    registry = ModelRegistry.for_workspace(workspace)
    version = registry.save(model)
    meta_path = workspace.models_dir / version / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["params"]["parameter_from_the_future"] = 1
    meta_path.write_text(json.dumps(meta))
    assert registry.load(version).model.get_params() == model.get_params()
