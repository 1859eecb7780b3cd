"""Assemble the decision engine from a workspace: the model in force, the rule set in force, the
policy its thresholds give, the cards file, and (when serving) the cardholder controls and breach
exposures of the operational store.

One function builds the parts for ``train``, ``replay``, the rules backtest, the console and
``serve``, so that all of them decide with exactly the same engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.engine import Engine, ModelScorer, Policy
from cardwatch.model import FraudModel, ModelRegistry
from cardwatch.profiles import FEATURE_NAMES
from cardwatch.replay import feature_frame, replay
from cardwatch.rules import RuleStore, compile_ruleset
from cardwatch.store.history import History
from cardwatch.workspace import Workspace

__all__ = ["MODEL_FEATURES", "EngineParts", "engine_parts", "replay_workspace", "train_model"]

log = logging.getLogger(__name__)

#: The model sees every profile feature but the card's recent declines: those come from the
#: engine's own earlier decisions, which a training replay without a model cannot know, so
#: learning from them would make training and serving disagree.
MODEL_FEATURES: tuple[str, ...] = tuple(f for f in FEATURE_NAMES if f != "card_declines_24h")


@dataclass
class EngineParts:
    """What an :class:`Engine` is made of, as found in a workspace."""

    scorer: ModelScorer | None
    rules: Any
    policy: Policy
    cards: pa.Table
    model_version: str | None
    rules_version: int | None

    def engine(self, controls: Any = None, exposure: Any = None) -> Engine:
        return Engine(self.scorer, self.rules, self.policy, controls, exposure, cards=self.cards)


def engine_parts(ws: Workspace, model_version: str | None = None) -> EngineParts:
    """The model (latest unless named), the rule set in force, and the policy of the model."""
    registry = ModelRegistry.for_workspace(ws)
    scorer, version, policy = None, None, Policy()
    if registry.versions():
        stored = registry.load(model_version)
        scorer, version = ModelScorer(stored.model), stored.version
        policy = Policy.from_thresholds(stored.model.thresholds_)
    else:
        log.warning("no model in %s yet: deciding on rules alone (run `cardwatch train`)", ws.home)
    rule_store = RuleStore(ws)
    ruleset = rule_store.current()
    return EngineParts(
        scorer=scorer,
        rules=compile_ruleset(ruleset),
        policy=policy,
        cards=History(ws).cards(),
        model_version=version,
        rules_version=rule_store.current_version(),
    )


def _between(table: pa.Table, start: datetime | None, end: datetime | None) -> pa.Table:
    ts = table.column("timestamp")
    keep = pa.array(np.ones(table.num_rows, dtype=bool))
    if start is not None:
        keep = pc.and_(keep, pc.greater_equal(ts, pa.scalar(start, ts.type)))
    if end is not None:
        keep = pc.and_(keep, pc.less(ts, pa.scalar(end, ts.type)))
    return table.filter(keep)


@dataclass
class Trained:
    version: str
    model: FraudModel
    metrics: dict[str, Any]
    rows: int
    frauds: int


def train_model(
    ws: Workspace,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime,
    created_at: datetime,
    **params: Any,
) -> Trained:
    """Train on payments in [start, end) with the labels reported by ``as_of``; store a version.

    Profiles are built from the whole history before ``end`` (a card's first payment in the
    window still knows the card's past), exactly as the live engine would have built them.
    """
    history = History(ws)
    table = history.table(end=end)
    frame = feature_frame(table, history.cards(), as_of=as_of)
    frame = _between(frame, start, end)
    if frame.num_rows == 0:
        raise ValueError("no transactions in the training window")
    X = np.column_stack([frame.column(f).to_numpy() for f in MODEL_FEATURES]).astype(np.float64)
    y = frame.column("is_fraud").to_numpy().astype(np.int8)
    model = FraudModel(**params).fit(X, y, list(MODEL_FEATURES))
    cut = X.shape[0] - int(X.shape[0] * model.threshold_holdout)
    days = frame.column("timestamp").to_numpy()[cut:].astype("datetime64[D]")
    from cardwatch.model import evaluate

    metrics = evaluate(
        days, frame.column("card_id").to_numpy()[cut:], model.predict_proba(X[cut:]), y[cut:]
    )
    meta = {
        "metrics": {"holdout": metrics},
        "train_from": start.isoformat() if start else None,
        "train_to": end.isoformat() if end else None,
        "as_of": as_of.isoformat(),
        "created_at": created_at.isoformat(),
        "rows": int(X.shape[0]),
        "frauds_known": int(y.sum()),
    }
    version = ModelRegistry.for_workspace(ws).save(model, meta)
    return Trained(version, model, metrics, int(X.shape[0]), int(y.sum()))


def replay_workspace(
    ws: Workspace, start: datetime | None, end: datetime | None, parts: EngineParts | None = None
) -> pa.Table:
    """``cardwatch replay``: the engine's decisions on history in [start, end), profiles warmed
    on everything before."""
    history = History(ws)
    parts = parts or engine_parts(ws)
    table = history.table(end=end)
    decisions = replay(table, parts.cards, parts.scorer, parts.rules, parts.policy)
    if start is None:
        return decisions
    keep = pc.greater_equal(
        table.column("timestamp"), pa.scalar(start, table.column("timestamp").type)
    )
    return decisions.filter(keep)
