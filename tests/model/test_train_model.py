"""``runtime.train_model``: thresholds from rows whose labels had settled by the as-of moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardwatch.importer import import_cards, import_file
from cardwatch.model import ModelRegistry
from cardwatch.replay import feature_frame
from cardwatch.runtime import (
    MODEL_FEATURES,
    _settled_holdout,
    engine_parts,
    replay_workspace,
    train_model,
)
from cardwatch.store.history import History
from cardwatch.store.records import Label
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace
from cardwatch.world import World, WorldConfig, simulate


def _frame(days: list[int], fraud: list[int]) -> pa.Table:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    stamps = pa.array([start + timedelta(days=d) for d in days], pa.timestamp("us", "UTC"))
    return pa.table({"timestamp": stamps, "is_fraud": pa.array(fraud, pa.int8())})


def test_the_holdout_is_the_last_share_of_settled_rows() -> None:
    frame = _frame([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0] * 10)
    hold = _settled_holdout(frame, datetime(2025, 1, 9, tzinfo=UTC), 0.25)  # days 0..7 settled
    assert hold is not None and hold.tolist() == [6, 7]


def test_no_holdout_without_settled_honest_rows() -> None:
    frame = _frame([0, 1, 2, 3], [0, 0, 1, 1])
    assert _settled_holdout(frame, datetime(2025, 1, 1, tzinfo=UTC), 0.5) is None  # none settled
    assert _settled_holdout(frame, datetime(2025, 1, 3, tzinfo=UTC), 0.5) is not None
    assert _settled_holdout(frame, datetime(2025, 1, 10, tzinfo=UTC), 0.0) is None


def _import(world: World, workspace: Workspace, tmp_path: Path) -> History:
    """The simulated world's cards and payments, imported as an issuer would."""
    pq.write_table(world.transactions, tmp_path / "t.parquet")
    pq.write_table(world.cards, tmp_path / "c.parquet")
    history = History(workspace)
    import_cards(history, tmp_path / "c.parquet", workspace.pan_key())
    import_file(history, tmp_path / "t.parquet", workspace.pan_key())
    return history


def test_train_model_sets_thresholds_on_settled_rows_and_trains_on_the_rest(
    workspace: Workspace, tmp_path: Path
) -> None:
    world = simulate(WorldConfig(seed=3).resized(cards=400, days=40))
    _import(world, workspace, tmp_path)
    ts = world.transactions.column("timestamp").to_numpy()
    as_of = datetime(2025, 11, 20, tzinfo=UTC)
    rows = int((ts < np.datetime64("2025-11-20")).sum())
    trained = train_model(
        workspace, None, as_of, as_of, as_of, n_estimators=5, honest_rows=None, num_leaves=7
    )
    meta = ModelRegistry.for_workspace(workspace).load(trained.version).meta
    settled = int((ts < np.datetime64("2025-11-13")).sum())
    assert trained.rows == rows
    assert meta["holdout_rows"] == int(settled * 0.2)
    assert meta["trained_on_rows"] == rows - meta["holdout_rows"]
    assert trained.model.thresholds_.honest_count <= meta["holdout_rows"]


def test_an_ensemble_trained_by_train_model_scores_the_replay(
    workspace: Workspace, tmp_path: Path
) -> None:
    """``n_models`` reaches the model through ``train_model``; the stored ensemble is the one the
    engine loads, and the replay's scores are its scores of the same features."""
    world = simulate(WorldConfig(seed=4).resized(cards=300, days=30))
    history = _import(world, workspace, tmp_path)
    as_of = datetime(2025, 11, 1, tzinfo=UTC)
    trained = train_model(
        workspace, None, as_of, as_of, as_of, n_estimators=5, num_leaves=7, n_models=3
    )
    meta = ModelRegistry.for_workspace(workspace).load(trained.version).meta
    assert meta["num_trees"] == 15 and meta["params"]["n_models"] == 3
    parts = engine_parts(workspace)
    assert parts.model_version == trained.version
    assert parts.scorer is not None and parts.scorer.model.n_models == 3
    decisions = replay_workspace(workspace, as_of, None, parts)
    table = history.table()
    frame = feature_frame(table, history.cards())
    X = np.column_stack([frame.column(f).to_numpy() for f in MODEL_FEATURES])
    later = frame.column("timestamp").to_numpy() >= np.datetime64("2025-11-01")
    assert 1000 < later.sum() == decisions.num_rows
    expected = parts.scorer.score_batch(np.ascontiguousarray(X[later], dtype=np.float64))
    np.testing.assert_array_equal(decisions.column("score").to_numpy(), expected)


def test_train_model_learns_the_labels_the_service_received(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Chargebacks posted to the service (``POST /v1/labels``) are in its store, not in the
    imported history: given the store, training counts them; without it, it cannot."""
    world = simulate(WorldConfig(seed=5).resized(cards=300, days=30))
    history = _import(world, workspace, tmp_path)
    as_of = datetime(2025, 11, 1, tzinfo=UTC)
    honest = history.table(end=as_of - timedelta(days=10)).filter(pc.equal(pc.field("is_fraud"), 0))
    picked = honest.slice(0, 7)
    store = SqlStore.open(workspace.database_url)
    try:
        for txn_id, card_id in zip(
            picked.column("txn_id").to_pylist(), picked.column("card_id").to_pylist(), strict=True
        ):
            store.add_label(Label(txn_id, card_id, True, as_of - timedelta(days=1), "api"))
        late = honest.slice(7, 1).to_pylist()[0]  # reported after the moment of training
        store.add_label(Label(late["txn_id"], late["card_id"], True, as_of + timedelta(1), "api"))
        params = {"n_estimators": 5, "num_leaves": 7}
        without = train_model(workspace, None, as_of, as_of, as_of, **params)
        with_store = train_model(workspace, None, as_of, as_of, as_of, store=store, **params)
    finally:
        store.close()
    assert workspace.has_store
    assert with_store.rows == without.rows
    assert with_store.frauds == without.frauds + 7
