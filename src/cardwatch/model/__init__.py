"""The fraud model: train, score fast, explain with reason codes, measure, keep versions.

Everything here is pure except :mod:`cardwatch.model.registry`, which reads and writes model
files.
"""

from __future__ import annotations

from cardwatch.model.compiled import CompiledForest, compile_booster
from cardwatch.model.countries import country_name
from cardwatch.model.fraud_model import FraudModel
from cardwatch.model.labels import time_window, training_labels
from cardwatch.model.metrics import (
    average_precision,
    card_precision_at_k,
    daily_card_precision_at_k,
    evaluate,
    roc_auc,
)
from cardwatch.model.reason_table import REASON_TEMPLATES, ReasonTemplate
from cardwatch.model.reasons import explain, reason_for
from cardwatch.model.registry import ModelRegistry, StoredModel
from cardwatch.model.thresholds import Thresholds, choose_thresholds, threshold_for_rate

__all__ = [
    "REASON_TEMPLATES",
    "CompiledForest",
    "FraudModel",
    "ModelRegistry",
    "ReasonTemplate",
    "StoredModel",
    "Thresholds",
    "average_precision",
    "card_precision_at_k",
    "choose_thresholds",
    "compile_booster",
    "country_name",
    "daily_card_precision_at_k",
    "evaluate",
    "explain",
    "reason_for",
    "roc_auc",
    "threshold_for_rate",
    "time_window",
    "training_labels",
]
