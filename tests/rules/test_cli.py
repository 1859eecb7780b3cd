"""``cardwatch rules …`` end to end on a small workspace."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.rules import RuleSet, RuleStore
from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.store.history import History
from cardwatch.workspace import Workspace

runner = CliRunner()

CANDIDATE = """
description = "candidate"

[[rules]]
id = "big_abroad"
rule = 'decline if amount > 500 and merchant_country != home_country'
description = "Large payment abroad."

[[rules]]
id = "online"
rule = 'challenge if channel == "ecommerce" and amount > 3 * card_amount_mean_30d'
description = "Unusual online payment."
mode = "shadow"
"""


def _history(ws: Workspace) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    rows = []
    for i in range(40):
        fraud = i % 10 == 9
        rows.append(
            {
                "txn_id": f"t{i:03d}",
                "timestamp": start + timedelta(hours=6 * i),
                "card_id": f"c{i % 4}",
                "amount": 900.0 if fraud else 20.0 + i,
                "merchant_id": f"m{i % 5}",
                "merchant_country": "US" if fraud else "FR",
                "mcc": "5411",
                "channel": "ecommerce" if i % 2 else "card_present",
                "entry_mode": "ecommerce" if i % 2 else "chip",
                "currency": "EUR",
                "is_fraud": int(fraud),
                "fraud_reported_at": start + timedelta(hours=6 * i + 48) if fraud else None,
            }
        )
    History(ws).append(pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA))


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_save_list_show_and_pin(workspace: Workspace, tmp_path: Path) -> None:
    home = str(workspace.home)
    code, output = _run("rules", "list", "--home", home)
    assert code == 0 and "default" in output
    path = tmp_path / "c.toml"
    path.write_text(CANDIDATE)
    assert _run("rules", "save", str(path), "--home", home)[0] == 0
    assert _run("rules", "save", str(path), "--home", home)[0] == 0
    assert RuleStore(workspace).versions() == [1, 2]
    code, output = _run("rules", "show", "1", "--home", home)
    assert code == 0 and "big_abroad" in output and "Large payment abroad." in output
    assert _run("rules", "pin", "1", "--home", home)[0] == 0
    assert RuleStore(workspace).current_version() == 1
    assert _run("rules", "pin", "--latest", "--home", home)[0] == 0
    assert RuleStore(workspace).current_version() == 2
    assert _run("rules", "show", "7", "--home", home)[0] == 1


def test_save_refuses_a_typo_and_stores_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CANDIDATE.replace("card_amount_mean_30d", "card_amount_mean_31d"))
    code, output = _run("rules", "save", str(path), "--home", str(workspace.home))
    assert code == 1 and "card_amount_mean_31d" in output
    assert RuleStore(workspace).versions() == []


def test_backtest_prints_json_side_by_side(workspace: Workspace, tmp_path: Path) -> None:
    _history(workspace)
    home = str(workspace.home)
    RuleStore(workspace).save(RuleSet((), {}, "empty"), allow_empty=True)  # default needs a score
    path = tmp_path / "c.toml"
    path.write_text(CANDIDATE)
    code, output = _run("rules", "backtest", str(path), "--json", "--home", home)
    assert code == 0, output
    report = json.loads(output[output.index("{") :])
    assert report["rows"] == 40 and report["frauds"] == 4
    big = report["candidate"]["rules"][0]
    assert big["rule_id"] == "big_abroad" and big["frauds"] == 4 and big["honest"] == 0
    assert report["baseline"]["rules"] == []
    code, output = _run("rules", "backtest", str(path), "--from", "2024-03-06", "--home", home)
    assert code == 0, output
    assert "honest cardholders hurt" in output


@pytest.mark.parametrize("when", ["yesterday", "2024-13-01"])
def test_backtest_refuses_a_bad_time(workspace: Workspace, tmp_path: Path, when: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CANDIDATE)
    code, output = _run(
        "rules", "backtest", str(path), "--from", when, "--home", str(workspace.home)
    )
    assert code == 1 and "ISO 8601" in output


def test_backtest_without_a_model_explains_why_score_rules_cannot_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    _history(workspace)
    path = tmp_path / "c.toml"
    path.write_text(CANDIDATE)
    code, output = _run("rules", "backtest", str(path), "--home", str(workspace.home))
    assert code == 1 and "no model" in output and "'score'" in output


def test_save_refuses_an_empty_set_unless_told_and_then_warns(
    workspace: Workspace, tmp_path: Path
) -> None:
    home = str(workspace.home)
    path = tmp_path / "empty.toml"
    path.write_text("")
    code, output = _run("rules", "save", str(path), "--home", home)
    assert code == 1 and "no rules" in output and "--allow-empty" in output
    assert RuleStore(workspace).versions() == []
    code, output = _run("rules", "save", str(path), "--allow-empty", "--home", home)
    assert code == 0, output
    output = " ".join(output.split())  # rich wraps long messages
    assert "0 live" in output and "the default set had 8 (8 fewer)" in output
    assert RuleStore(workspace).current_version() == 1


def test_save_refuses_a_set_whose_rules_are_all_shadow(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "shadow.toml"
    path.write_text(
        CANDIDATE.replace(
            'description = "Large payment abroad."',
            'description = "Large payment abroad."\nmode = "shadow"',
        )
    )
    code, output = _run("rules", "save", str(path), "--home", str(workspace.home))
    assert code == 1 and "shadow" in output
    assert RuleStore(workspace).versions() == []


@pytest.mark.parametrize("command", ["save", "backtest"])
def test_a_file_that_is_not_utf8_or_missing_is_a_clean_error(
    workspace: Workspace, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(CANDIDATE.replace("Large", "Tr\u00e8s large").encode("latin-1"))
    result = runner.invoke(app, ["rules", command, str(path), "--home", str(workspace.home)])
    assert result.exit_code == 1 and not isinstance(result.exception, UnicodeDecodeError)
    offset = CANDIDATE.index("Large") + 2
    output = " ".join(result.output.split())  # rich wraps long messages
    assert "latin1.toml" in output and f"not UTF-8 text at byte {offset}" in output
    missing = tmp_path / "nowhere.toml"
    code, output = _run("rules", command, str(missing), "--home", str(workspace.home))
    assert code == 1 and "cannot read" in output and "nowhere.toml" in output


@pytest.mark.parametrize("command", ["save", "backtest"])
def test_a_bare_value_rule_is_refused_naming_file_rule_and_column(
    workspace: Workspace, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "bare.toml"
    path.write_text(
        CANDIDATE.replace("amount > 500 and merchant_country != home_country", "amount")
    )
    code, output = _run("rules", command, str(path), "--home", str(workspace.home))
    flat = " ".join(output.split())
    assert code == 1 and "bare.toml: rule 'big_abroad': a number is not a condition" in flat
    assert "at column 12:" in flat and "decline if amount ^" in flat
    assert RuleStore(workspace).versions() == []
