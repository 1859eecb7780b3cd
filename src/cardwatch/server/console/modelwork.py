"""What the model page shows: the versions and their recorded metrics, feature importance, and
the curves and threshold trade-off measured on live decisions whose labels have arrived.

Live evidence (the score each authorisation got, against what it turned out to be) is the
honest measure of a deployed model; the metrics in ``meta.json`` are those of its training-time
test window. Both are shown, each named for what it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cardwatch.server.console.context import Console
from cardwatch.server.console.queries import labelled_scores

__all__ = ["ModelView", "ThresholdRow", "curves", "model_view", "threshold_rows"]

log = logging.getLogger(__name__)


@dataclass
class ThresholdRow:
    threshold: float
    caught: int
    caught_share: float
    honest_hit: int
    honest_cards: int


@dataclass
class ModelView:
    versions: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, Any] | None = None
    importance: list[tuple[str, float]] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    cards: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


def model_view(console: Console) -> ModelView:
    view = ModelView()
    try:
        from cardwatch.model.registry import ModelRegistry

        registry = ModelRegistry.for_workspace(console.ws)
        for version in registry.versions():
            meta = _meta(registry.root / version / "meta.json")
            view.versions.append(meta | {"version": version})
        if view.versions:
            view.latest = view.versions[-1]
            view.importance = _importance(console, registry, view.latest["version"])
    except Exception:
        log.exception("could not read the model registry")
    scores, labels, cards = labelled_scores(console.store)
    view.scores = np.asarray(scores, dtype=np.float64)
    view.labels = np.asarray(labels, dtype=int)
    view.cards = np.asarray(cards, dtype=object)
    return view


def _meta(path: Any) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _importance(console: Console, registry: Any, version: str) -> list[tuple[str, float]]:
    key = ("importance", version)
    if key not in console.cache:
        stored = registry.load(version)
        booster = stored.model.booster_
        gains = booster.feature_importance(importance_type="gain")
        total = float(np.sum(gains)) or 1.0
        pairs = sorted(zip(booster.feature_name(), gains / total, strict=True), key=lambda p: -p[1])
        console.cache[key] = [(str(n), float(g)) for n, g in pairs[:15]]
    return list(console.cache[key])


def curves(
    scores: np.ndarray, labels: np.ndarray
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """ROC (false positive rate, true positive rate) and precision-recall (recall, precision)
    points, thinned to at most ~200 each.

    >>> roc, pr = curves(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 0, 1, 0]))
    >>> roc[0], roc[-1], pr[-1]
    ((0.0, 0.0), (1.0, 1.0), (1.0, 0.5))
    """
    pos, neg = int(labels.sum()), int((1 - labels).sum())
    if pos == 0 or neg == 0:
        return [], []
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp, fp = np.cumsum(y), np.cumsum(1 - y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # one point per distinct score
    tpr, fpr = tp[last] / pos, fp[last] / neg
    precision = tp[last] / (tp[last] + fp[last])
    step = max(1, len(last) // 200)
    roc = [(0.0, 0.0)] + [
        (float(a), float(b)) for a, b in zip(fpr[::step], tpr[::step], strict=True)
    ]
    if roc[-1] != (1.0, 1.0):
        roc.append((1.0, 1.0))
    pr = [(float(r), float(p)) for r, p in zip(tpr[::step], precision[::step], strict=True)]
    if pr and pr[-1][0] != float(tpr[-1]):
        pr.append((float(tpr[-1]), float(precision[-1])))
    return roc, pr


def threshold_rows(
    scores: np.ndarray, labels: np.ndarray, cards: np.ndarray, thresholds: list[float]
) -> list[ThresholdRow]:
    """At each threshold (decline when score > threshold): frauds caught, their share, honest
    payments hit and distinct honest cardholders hurt."""
    frauds = max(int(labels.sum()), 1)
    rows = []
    for th in thresholds:
        hit = scores > th
        honest = hit & (labels == 0)
        rows.append(
            ThresholdRow(
                th,
                int((hit & (labels == 1)).sum()),
                float((hit & (labels == 1)).sum()) / frauds,
                int(honest.sum()),
                len(set(cards[honest].tolist())),
            )
        )
    return rows
