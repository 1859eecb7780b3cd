"""Assemble the decision engine from a workspace: the model in force, the rule set in force, the
policy its thresholds give, the cards file, and (when serving) the cardholder controls and breach
exposures of the operational store.

One function builds the parts for ``train``, ``replay``, the rules backtest, the console and
``serve``, so that all of them decide with exactly the same engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.engine import Engine, ModelScorer, Policy
from cardwatch.errors import NoDataError
from cardwatch.live_history import LiveHistory
from cardwatch.model import FraudModel, ModelRegistry
from cardwatch.profiles import DEFAULT_LABEL_DELAY_US, FEATURE_NAMES
from cardwatch.replay import feature_frame, replay
from cardwatch.rules import RuleStore, compile_ruleset
from cardwatch.store.base import Store
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


#: How long after a payment its fraud label is taken as settled: most reports arrive within a
#: week (the profiles' default label delay), so older rows are the ones whose "honest" is trusted.
LABEL_SETTLE = timedelta(microseconds=DEFAULT_LABEL_DELAY_US)


def train_model(
    ws: Workspace,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime,
    created_at: datetime,
    *,
    label_settle: timedelta = LABEL_SETTLE,
    on_stage: Callable[[str], None] | None = None,
    store: Store | None = None,
    **params: Any,
) -> Trained:
    """Train on payments in [start, end) with the labels reported by ``as_of``; store a version.

    With the service's ``store``, the payments it decided since the import and the labels it
    received (``POST /v1/labels``, the console's verdicts, "not me") count too, as
    :class:`~cardwatch.live_history.LiveHistory` lays them over the imported history: the
    chargebacks a fraud team posts are what the next model should learn from.

    Profiles are built from the whole history before ``end`` (a card's first payment in the
    window still knows the card's past), exactly as the live engine would have built them.

    The thresholds (and the held-out metrics) come from the last ``threshold_holdout`` share of
    the rows whose labels had settled by ``as_of`` (older than ``label_settle``), and the trees
    learn from every other row, the freshest included. Why: a fraud of the last few days is
    mostly not reported yet, so it passes for honest; thresholds set on such rows would count
    those frauds as honest payments to spare and land far too high, while the trees still gain
    from the newest payments (a breach's first frauds are the ones worth learning).
    """
    stage = on_stage or (lambda _: None)
    history = History(ws)
    stage("reading history")
    table = LiveHistory(ws, store).table(end=end) if store is not None else history.table(end=end)
    stage(f"replaying {table.num_rows:,} payments into profiles")
    frame = feature_frame(table, history.cards(), as_of=as_of)
    frame = _between(frame, start, end)
    stage(f"training trees on {frame.num_rows:,} payments")
    if frame.num_rows == 0:
        raise NoDataError(
            f"no transactions in the training window [{start or 'start of history'}, "
            f"{end or 'end of history'})"
        )
    X = np.column_stack([frame.column(f).to_numpy() for f in MODEL_FEATURES]).astype(np.float64)
    y = frame.column("is_fraud").to_numpy().astype(np.int8)
    model = FraudModel(**params)
    hold = _settled_holdout(frame, as_of - label_settle, model.threshold_holdout)
    if hold is None:  # nothing settled yet: the model's own holdout, the last rows in time
        model.fit(X, y, list(MODEL_FEATURES))
        hold = np.arange(X.shape[0] - int(X.shape[0] * model.threshold_holdout), X.shape[0])
    else:
        train = np.ones(X.shape[0], dtype=bool)
        train[hold] = False
        model.fit(X[train], y[train], list(MODEL_FEATURES), X_valid=X[hold], y_valid=y[hold])
    days = frame.column("timestamp").to_numpy()[hold].astype("datetime64[D]")
    from cardwatch.model import evaluate

    stage("measuring on the held-out payments")

    metrics = evaluate(
        days, frame.column("card_id").to_numpy()[hold], model.predict_proba(X[hold]), y[hold]
    )
    meta = {
        "metrics": {"holdout": metrics},
        "train_from": start.isoformat() if start else None,
        "train_to": end.isoformat() if end else None,
        "as_of": as_of.isoformat(),
        "created_at": created_at.isoformat(),
        "rows": int(X.shape[0]),
        "frauds_known": int(y.sum()),
        "holdout_rows": int(hold.size),
        "trained_on_rows": int(model.n_train_rows_),
    }
    version = ModelRegistry.for_workspace(ws).save(model, meta)
    return Trained(version, model, metrics, int(X.shape[0]), int(y.sum()))


def _settled_holdout(frame: pa.Table, settled_before: datetime, share: float) -> np.ndarray | None:
    """Row positions of the last ``share`` (in time) of the rows before ``settled_before``;
    ``None`` when that leaves no honest row or no row to train on."""
    if share <= 0:
        return None
    ts = frame.column("timestamp")
    settled = pc.less(ts, pa.scalar(settled_before, ts.type)).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(settled)
    if rows.size == 0:
        return None
    order = rows[np.argsort(ts.to_numpy()[rows], kind="stable")]
    hold = np.sort(order[order.size - int(order.size * share) :])
    if hold.size == 0 or hold.size == frame.num_rows:
        return None
    if (frame.column("is_fraud").to_numpy()[hold] == 0).sum() == 0:
        return None
    return hold


def replay_workspace(
    ws: Workspace,
    start: datetime | None,
    end: datetime | None,
    parts: EngineParts | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> pa.Table:
    """``cardwatch replay``: the engine's decisions on history in [start, end), profiles warmed
    on everything before."""
    stage = on_stage or (lambda _: None)
    history = History(ws)
    parts = parts or engine_parts(ws)
    stage("reading history")
    table = history.table(end=end)
    stage(f"deciding {table.num_rows:,} payments")
    decisions = replay(table, parts.cards, parts.scorer, parts.rules, parts.policy)
    if start is None:
        return decisions
    keep = pc.greater_equal(
        table.column("timestamp"), pa.scalar(start, table.column("timestamp").type)
    )
    return decisions.filter(keep)
