"""Compromise detection on Apache Spark: the same SQL as on DuckDB, for history too large for one
machine (an adapter: it holds a Spark session).

Every pass over the history is the query text of :mod:`cardwatch.breach.queries`; this engine
only spells time literals, epoch conversion and distinct counts the Spark way, registers the
small tables (defrauded cards, candidate places, windows) as temporary views, and brings the
small results back as Arrow. Scoring then runs in the driver exactly as with DuckDB, so the two
engines give the same suspects in the same order::

    from pyspark.sql import SparkSession
    from cardwatch.breach.spark import detect_spark

    spark = SparkSession.builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    history = spark.read.parquet("history/")          # HISTORY_SCHEMA columns
    suspects = detect_spark(spark, history, as_of)

``pyspark`` is an optional dependency (``pip install cardwatch[spark]``), imported only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cardwatch.breach.config import DetectConfig
from cardwatch.breach.detect import detect_with
from cardwatch.breach.engine import as_utc
from cardwatch.breach.suspect import Suspect

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "detect_spark"]


class SparkEngine:
    """Runs the detection SQL with Spark SQL over a ``transactions`` temporary view.

    ``exact`` counts distinct cards exactly (``count(DISTINCT)``) rather than with Spark's
    HyperLogLog sketch, whose estimates differ from DuckDB's: use it to compare the engines.
    """

    def __init__(self, spark: SparkSession, history: DataFrame, exact: bool = False) -> None:
        self.spark = spark
        self.exact = exact
        history.createOrReplaceTempView("transactions")

    def query(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def register(self, name: str, table: pa.Table) -> None:
        frame: Any = self.spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)

    def ts(self, t: datetime) -> str:
        """A timestamp literal with an explicit offset, whatever the session's time zone.

        >>> SparkEngine.ts(None, datetime(2013, 12, 1))  # type: ignore[arg-type]
        "TIMESTAMP '2013-12-01 00:00:00.000000+00:00'"
        """
        return f"TIMESTAMP '{as_utc(t).strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00'"

    def epoch_us(self, expr: str) -> str:
        return f"unix_micros({expr})"

    def distinct(self, expr: str) -> str:
        return f"count(DISTINCT {expr})" if self.exact else f"approx_count_distinct({expr})"


def detect_spark(
    spark: SparkSession,
    history: DataFrame,
    as_of: datetime,
    config: DetectConfig | None = None,
    exact: bool = False,
) -> list[Suspect]:
    """:func:`cardwatch.breach.detect` over a Spark DataFrame of history."""
    return detect_with(SparkEngine(spark, history, exact), as_of, config or DetectConfig())
