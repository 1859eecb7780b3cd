"""The scale bench (bench/bench_breach_scale.py) at a few tens of thousands of rows: its generator
still makes contract-complete history (every ``HISTORY_SCHEMA`` column, counterfeit frauds among
them) and detection over it, from a DuckDB table and from Parquet, finds the breached merchant.
Timings are the bench's business, not the test's."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from cardwatch.breach import detect
from cardwatch.schema import HISTORY_SCHEMA

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_breach_scale.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_breach_scale", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_breach_scale"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_history_has_the_contract_columns_and_the_breach_is_found(bench) -> None:
    con = duckdb.connect()
    bench.generate(con, 60_000, victim_every=1)
    bench.check_schema(con)
    columns = [r[0] for r in con.execute("DESCRIBE transactions").fetchall()]
    assert columns == list(HISTORY_SCHEMA.names)
    cloned = con.execute(
        "SELECT count(*) FROM transactions WHERE is_fraud = 1 "
        "AND entry_mode = 'magstripe' AND channel = 'card_present'"
    ).fetchall()
    assert cloned[0][0] > 0
    found = detect(con, bench.T0 + timedelta(days=100))
    assert found and found[0].merchant_id == bench.BREACHED


def test_parquet_history_gives_the_same_answer(bench, tmp_path: Path) -> None:
    con = duckdb.connect()
    bench.generate(con, 60_000, victim_every=1)
    as_of = bench.T0 + timedelta(days=100)
    expected = [s.to_dict() for s in detect(con, as_of)]
    fresh = bench.to_parquet(con, tmp_path)
    assert [s.to_dict() for s in detect(fresh, as_of)] == expected


def test_main_prints_the_figures(bench, capsys) -> None:
    out = bench.main(["--rows", "60000", "--threads", "1"])
    text = capsys.readouterr().out
    assert "detect as of" in text and "load average" in text and "command:" in text
    assert out["rows"] >= 60_000
