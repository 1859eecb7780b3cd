"""Model versions on disk: the one module of :mod:`cardwatch.model` that touches files.

Why versions: a decision must be explainable later ("which model declined this card on
3 March?"), a bad model must be rolled back in one step, and a backtest must be rerun on the exact
model it measured. So every trained model is kept, never overwritten, in
``models/vNNNN/`` with ``model.txt`` (LightGBM's own text format, readable by any LightGBM) and
``meta.json`` (feature names, parameters, thresholds, metrics, training window, ``as_of``, and
the creation time, which the caller passes in: nothing here reads a clock). A version directory
is written under a temporary name and renamed into place, so a reader never sees half a model.
The compiled scoring arrays are rebuilt on load (a fraction of a second).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from cardwatch.errors import NotFoundError
from cardwatch.model.fraud_model import FraudModel
from cardwatch.model.thresholds import Thresholds
from cardwatch.workspace import Workspace

__all__ = ["ModelRegistry", "StoredModel"]

_VERSION = re.compile(r"v(\d{4,})")
FORMAT = 1


@dataclass(frozen=True)
class StoredModel:
    """A model as loaded from the registry, with its version and metadata."""

    version: str
    model: FraudModel
    meta: dict[str, Any]


class ModelRegistry:
    """The versioned models under one directory (a workspace's ``models_dir``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_workspace(cls, ws: Workspace) -> ModelRegistry:
        return cls(ws.models_dir)

    def versions(self) -> list[str]:
        """Stored versions, oldest first (``["v0001", "v0002", …]``)."""
        if not self.root.is_dir():
            return []
        found = [
            p.name
            for p in self.root.iterdir()
            if _VERSION.fullmatch(p.name) and (p / "meta.json").is_file()
        ]
        return sorted(found, key=lambda name: int(name[1:]))

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def save(self, model: FraudModel, meta: Mapping[str, Any] | None = None) -> str:
        """Store a fitted model as the next version and return that version's name.

        ``meta`` is the caller's record (``metrics``, ``train_from``, ``train_to``, ``as_of``,
        ``created_at``…); feature names, parameters and thresholds are taken from the model.
        """
        if not hasattr(model, "booster_"):
            raise ValueError("only a fitted model can be saved")
        self.root.mkdir(parents=True, exist_ok=True)
        record = dict(meta or {})
        record.update(
            {
                "format": FORMAT,
                "feature_names": [str(n) for n in model.feature_names_in_],
                "params": model.get_params(),
                "booster_params": model.booster_params(),
                "thresholds": model.thresholds_.to_dict(),
                "num_trees": model.booster_.num_trees(),
            }
        )
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            model.booster_.save_model(str(staging / "model.txt"))
            while True:
                version = f"v{self._next_number():04d}"
                record["version"] = version
                text = json.dumps(_jsonable(record), indent=2, sort_keys=True)
                (staging / "meta.json").write_text(text + "\n")
                try:
                    os.rename(staging, self.root / version)
                    return version
                except OSError:
                    if not (self.root / version).exists():
                        raise  # a real failure, not a concurrent save taking the number
        finally:
            if staging.exists():
                for p in staging.iterdir():
                    p.unlink()
                staging.rmdir()

    def load(self, version: str | None = None) -> StoredModel:
        """The model of ``version`` (``"v0003"``, ``"3"`` or ``3``), the latest by default."""
        name = self._resolve(version)
        folder = self.root / name
        meta = json.loads((folder / "meta.json").read_text())
        booster = lgb.Booster(model_str=(folder / "model.txt").read_text())
        names = [str(n) for n in booster.feature_name()]
        if names != meta["feature_names"]:
            raise ValueError(f"{name}: model.txt and meta.json disagree on the features")
        model = FraudModel.from_booster(
            booster, Thresholds.from_dict(meta["thresholds"]), meta.get("params")
        )
        return StoredModel(version=name, model=model, meta=meta)

    def _resolve(self, version: str | int | None) -> str:
        versions = self.versions()
        if version is None:
            if not versions:
                raise NotFoundError(f"no model has been trained yet (none in {self.root})")
            return versions[-1]
        text = str(version)
        name = text if text.startswith("v") else f"v{int(text):04d}"
        if name not in versions:
            raise NotFoundError(f"model version {text!r} not found (have: {versions})")
        return name

    def _next_number(self) -> int:
        taken = [int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION.fullmatch(p.name))]
        return max(taken, default=0) + 1


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NumPy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
