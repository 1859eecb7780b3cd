"""Detection on Spark gives what it gives on DuckDB: the same SQL, the same suspects in the same
order, the same scores (one local Spark session for the module, on a small world). Distinct
counts are exact here: the engines' HyperLogLog sketches differ, and with them the last digits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cardwatch.breach import DetectConfig, Suspect, detect_with
from cardwatch.breach.engine import duckdb_engine

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("cardwatch-breach-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "Europe/Paris")  # literals must not depend on it
        .getOrCreate()
    )
    yield session
    session.stop()


def _same(spark_found: list[Suspect], duck_found: list[Suspect]) -> None:
    assert [s.key for s in spark_found] == [s.key for s in duck_found]
    for a, b in zip(spark_found, duck_found, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-6, abs=1e-6)
        assert (a.fraud_cards, a.exposed_cards) == (b.fraud_cards, b.exposed_cards)
        assert (a.window_start, a.window_end) == (b.window_start, b.window_end)
        assert a.merchant_ids == b.merchant_ids and a.terminal_ids == b.terminal_ids
        assert a.blame == pytest.approx(b.blame, rel=1e-6)


def test_spark_ranks_like_duckdb(spark, world_factory: Callable) -> None:
    from cardwatch.breach.spark import SparkEngine

    table = world_factory(cards=300, background_frauds=8).table
    history = spark.createDataFrame(table)  # type: ignore[attr-defined]
    duck = detect_with(duckdb_engine(table, exact=True), AS_OF, DetectConfig())
    found = detect_with(SparkEngine(spark, history, exact=True), AS_OF, DetectConfig())
    assert duck and duck[0].chain == "BIGMART"
    _same(found, duck)


def test_spark_subset_scan_like_duckdb(spark, world_factory: Callable) -> None:
    """A breach of 4 of a chain's 24 stores, found by the subset scan: the same stores, window
    and p-value on both engines (the Monte-Carlo draws have a fixed seed)."""
    from cardwatch.breach.spark import SparkEngine

    table = world_factory(cards=1500, chain_stores=24, breach_stores=(0, 5, 11, 17),
                          share_defrauded=0.15, background_frauds=40, seed=4).table  # fmt: skip
    config = DetectConfig(subset_scan=True)
    history = spark.createDataFrame(table)  # type: ignore[attr-defined]
    duck = detect_with(duckdb_engine(table, exact=True), AS_OF, config)
    found = detect_with(SparkEngine(spark, history, exact=True), AS_OF, config)
    assert duck and duck[0].key == "chain:BIGMART"
    _same(found, duck)


def test_spark_finds_clones_like_duckdb(spark, world_factory: Callable) -> None:
    """Clones as evidence (a join of stripe payments with the countries where each card used its
    chip) read the same on both engines: the breach found early, from the clones."""
    from cardwatch.breach.spark import SparkEngine

    world = world_factory(cards=300, background_frauds=8, cloned=True, share_defrauded=0.5,
                          travellers=20)  # fmt: skip
    assert world.first_report is not None
    as_of = world.first_report + timedelta(days=1)  # the reports do not alert yet
    config = DetectConfig(counterfeit_use=True)
    history = spark.createDataFrame(world.table)  # type: ignore[attr-defined]
    duck = detect_with(duckdb_engine(world.table, exact=True), as_of, config)
    found = detect_with(SparkEngine(spark, history, exact=True), as_of, config)
    assert duck and duck[0].basis == "counterfeit_use"
    _same(found, duck)
    assert [s.basis for s in found] == [s.basis for s in duck]
