"""``cardwatch breach detect`` on a workspace history writes the contract's JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.store.history import History


def test_detect_writes_json(workspace, breached_world, tmp_path) -> None:
    History(workspace).append(breached_world.table)
    out = tmp_path / "suspects.json"
    result = CliRunner().invoke(
        app,
        [
            "breach",
            "detect",
            "--home",
            str(workspace.home),
            "--as-of",
            "2013-12-31T00:00:00",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(out.read_text())
    assert found[0]["merchant_id"] == "BIGMART"
    for key in (
        "merchant_id",
        "terminal_ids",
        "window_start",
        "window_end",
        "score",
        "fraud_cards",
        "exposed_cards",
        "first_fraud_at",
        "merchant_ids",
        "chain",
    ):
        assert key in found[0]
    plan = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app,
        [
            "breach",
            "exposure",
            "BIGMART",
            "--home",
            str(workspace.home),
            "--as-of",
            "2013-12-31",
            "--out",
            str(plan),
        ],
    )
    assert result.exit_code == 0, result.output
    assert plan.read_text().startswith("rank,card_id")


def test_detect_with_clones_alerts_before_the_reports(workspace, world_factory, tmp_path) -> None:
    """``--clones`` finds the breach from its clones; by default detection waits for the
    reports."""
    world = world_factory(cloned=True)
    History(workspace).append(world.table)
    as_of = (world.first_report + timedelta(days=5)).isoformat()
    args = ["breach", "detect", "--home", str(workspace.home), "--as-of", as_of, "--out"]
    plain, early = tmp_path / "plain.json", tmp_path / "early.json"
    assert CliRunner().invoke(app, [*args, str(plain)]).exit_code == 0
    result = CliRunner().invoke(app, [*args, str(early), "--clones"])
    assert result.exit_code == 0, result.output
    assert "BIGMART" not in [s["merchant_id"] for s in json.loads(plain.read_text())]
    found = json.loads(early.read_text())
    assert (found[0]["merchant_id"], found[0]["basis"]) == ("BIGMART", "counterfeit_use")
