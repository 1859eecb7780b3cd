"""The evaluation script (bench/breach_eval.py) on its quick sweep: its table has the promised
shape, and the breach of the first tiny world is found, after its first fraud report, with no
false alert."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "breach_eval.py"


@pytest.fixture(scope="module")
def breach_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("breach_eval", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["breach_eval"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_sweep_prints_the_table_and_finds_the_breach(breach_eval, capsys) -> None:
    rows = breach_eval.main(["--quick"])
    out = capsys.readouterr().out
    assert "command: .venv/bin/python bench/breach_eval.py --quick" in out
    assert "recall" in out and "precision" in out
    assert len(rows) == 2
    expected = {"share", "stores", "recall", "precision", "from_start", "from_report", "others"}
    assert expected <= set(rows[0])
    big = rows[0]
    assert big["recall"] == 1.0, "the 2013-like breach of the first quick world was not found"
    assert big["precision"] == 1.0
    assert big["from_report"] is not None and big["from_report"] >= 0
    assert 0 < big["from_start"] < 40


def test_alerts_are_matched_to_the_truth(breach_eval) -> None:
    from datetime import UTC, datetime

    from cardwatch.breach import Suspect

    t = datetime(2013, 12, 1, tzinfo=UTC)
    truth = [{"chain": "Grand Bazar", "merchant_ids": ["M1", "M2"]},
             {"chain": "", "merchant_ids": ["M9"]}]  # fmt: skip

    def alert(key: str, level: str) -> Suspect:
        return Suspect(key, level, None, (key,), (), t, t, 5.0, 1e-5, 5, 50, 0.5, t, 1.0, 10)

    assert breach_eval.matches(alert("Grand Bazar", "chain"), truth) == 0
    assert breach_eval.matches(alert("M2", "store"), truth) == 0
    assert breach_eval.matches(alert("M9", "store"), truth) == 1
    assert breach_eval.matches(alert("M3", "store"), truth) is None
    assert breach_eval.matches(alert("Other", "chain"), truth) is None


def test_the_activity_null_check_counts_what_it_compares(breach_eval, capsys) -> None:
    """bench/breach_activity_null.py on a small breach-free world: both nulls and the observed
    count, per level, printed with the command."""
    spec = importlib.util.spec_from_file_location("breach_activity_null", BENCH.with_name(
        "breach_activity_null.py"))  # fmt: skip
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--cards", "2000", "--top", "10"])
    said = capsys.readouterr().out
    assert "command: .venv/bin/python bench/breach_activity_null.py --cards 2000" in said
    for level in ("chain", "store"):
        observed, linear, saturating, empirical = out[level]
        assert observed > 0 and linear > saturating > 0 and empirical > 0
        assert f"10 most visited {level}s" in said


def test_the_clone_count_splits_victims_from_honest_cards(breach_eval, capsys) -> None:
    """bench/breach_clones.py on a small world: per day, the clones with the alibi are some of
    those without it, and the breach's victims appear once its frauds begin."""
    spec = importlib.util.spec_from_file_location("breach_clones", BENCH.with_name(
        "breach_clones.py"))  # fmt: skip
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--cards", "3000", "--days", "20", "--every", "10"])
    said = capsys.readouterr().out
    assert "command: .venv/bin/python bench/breach_clones.py --cards 3000" in said
    assert len(rows) == 3
    for row in rows:
        assert all(a <= b for a, b in zip(row["alibi"], row["any"], strict=True))
    assert rows[-1]["any"][0] > 0
