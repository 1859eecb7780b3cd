"""``cardwatch train`` then ``cardwatch replay``: a stored model version and the contract's
decisions file, one row per transaction."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.model import ModelRegistry
from cardwatch.workspace import Workspace
from cardwatch.world import WorldConfig, simulate

pytestmark = pytest.mark.slow


def test_train_then_replay(workspace: Workspace, tmp_path: Path) -> None:
    world = simulate(WorldConfig(seed=3, cards=800).resized(days=70))
    pq.write_table(world.transactions, tmp_path / "t.parquet")
    pq.write_table(world.cards, tmp_path / "c.parquet")
    home = ["--home", str(workspace.home)]
    runner = CliRunner()
    done = runner.invoke(
        app, ["import", str(tmp_path / "t.parquet"), "--cards", str(tmp_path / "c.parquet"), *home]
    )
    assert done.exit_code == 0, done.output
    trained = runner.invoke(app, ["train", "--trees", "30", *home])  # as of the end of history
    assert trained.exit_code == 0, trained.output
    assert ModelRegistry.for_workspace(workspace).versions() == ["v0001"]
    start = world.truth["breaches"][0]["window_start"][:10]
    out = tmp_path / "decisions.csv"
    replayed = runner.invoke(app, ["replay", "--from", start, "--out", str(out), *home])
    assert replayed.exit_code == 0, replayed.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["txn_id", "score", "action", "response_code", "reasons"]
    expected = sum(
        1 for t in world.transactions.column("timestamp").to_pylist() if t.isoformat()[:10] >= start
    )
    assert len(rows) == expected
    assert {r["action"] for r in rows} <= {"approve", "challenge", "decline", "review"}
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    stopped = [r for r in rows if r["action"] in ("challenge", "decline")]
    assert stopped and all(r["reasons"] for r in stopped)
    bad = runner.invoke(app, ["train", "--as-of", "yesterday", *home])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output
