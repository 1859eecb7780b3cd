"""``cardwatch simulate`` writes the files the contract names, in Parquet or CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.schema import HISTORY_SCHEMA

runner = CliRunner()


def test_simulate_parquet(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = runner.invoke(app, ["simulate", "--out", str(out), "--cards", "120", "--days", "30"])
    assert result.exit_code == 0, result.output
    for name in ("transactions.parquet", "cards.parquet", "merchants.parquet", "truth.json"):
        assert (out / name).exists(), name
    table = pq.read_table(out / "transactions.parquet")
    assert table.schema.names == [*HISTORY_SCHEMA.names, "scenario"]
    truth = json.loads((out / "truth.json").read_text())
    assert truth["config"]["cards"] == 120 and truth["config"]["days"] == 30
    assert truth["stats"]["transactions"] == table.num_rows


def test_simulate_csv_has_iso_timestamps_with_offset(tmp_path: Path) -> None:
    out = tmp_path / "w"
    args = ["simulate", "--out", str(out), "--cards", "60", "--days", "20", "--format", "csv"]
    result = runner.invoke(app, [*args, "--seed", "9"])
    assert result.exit_code == 0, result.output
    header, first = (out / "transactions.csv").read_text().splitlines()[:2]
    assert header.split(",")[:2] == ['"txn_id"', '"timestamp"']
    assert first.split(",")[1].strip('"').endswith("+00:00")
    assert (out / "cards.csv").exists() and (out / "merchants.csv").exists()


def test_simulate_handbook_preset(tmp_path: Path) -> None:
    out = tmp_path / "h"
    args = ["simulate", "--out", str(out), "--preset", "handbook", "--cards", "40", "--days", "8"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text())
    assert truth["preset"] == "handbook" and truth["config"]["customers"] == 40


def test_simulate_refuses_a_bad_size(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--days", "3"])
    assert result.exit_code == 2
