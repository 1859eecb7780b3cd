"""How long compromise detection takes on a large history (issue 5: 100 M transactions in under
a minute on a 2-core machine).

Generates, inside DuckDB with ``range`` and ``random``, a history of ROWS payments over 120 days
by ROWS/100 cards at 50,000 merchants (Zipf-like popularity), every ``HISTORY_SCHEMA`` column
filled (chip card-present payments at home, around Paris), with one breached merchant: 2% of the
cards that paid there during a 20-day window are defrauded 3-20 days later (two thirds as cloned
magstripe cards in New York, the rest online; with ``--clones``, those that a chip read at
home within hours gives an alibi are evidence too); plus background fraud (online,
phishing-like) on 0.05% of the cards at random times. Then times ``detect`` as of day 100, over
the DuckDB table or (``--parquet DIR``) over the history written to Parquet, as the workspace
keeps it.

    .venv/bin/python bench/bench_breach_scale.py --rows 100_000_000
    .venv/bin/python bench/bench_breach_scale.py --rows 100_000_000 --parquet /tmp/history
    .venv/bin/python bench/bench_breach_scale.py --rows 100_000_000 --parquet /tmp/history --reuse
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from cardwatch.breach import DetectConfig, detect
from cardwatch.breach.detect import clones_seen
from cardwatch.breach.engine import duckdb_engine
from cardwatch.schema import HISTORY_SCHEMA

T0 = datetime(2013, 9, 1, tzinfo=UTC)
BREACHED = "m00007"
DAYS = 120


def generate(
    con: duckdb.DuckDBPyConnection, rows: int, seed: float = 0.42, victim_every: int = 50
) -> None:
    """A ``transactions`` view of about ``rows`` payments with every ``HISTORY_SCHEMA`` column
    (over a compact ``raw`` table, in time order: strings are spelt out as they are read, so
    100 M rows fit in a few GB), and a ``victims`` table (the breached merchant's defrauded
    cards: one exposed card in ``victim_every``)."""
    cards = max(rows // 100, 1000)
    t0 = f"TIMESTAMPTZ '{T0.isoformat()}'"
    step = DAYS * 86_400e6 / rows
    con.execute(f"SELECT setseed({seed})").fetchall()
    con.execute(f"""
        CREATE TABLE raw AS
        SELECT i, CAST(floor(random() * {cards}) AS INTEGER) AS c,
               {t0} + to_microseconds(CAST(i * {step} AS BIGINT)) AS timestamp,
               CAST(floor(50000 * pow(random(), 3)) AS INTEGER) AS m,
               CAST(round(5 + 95 * random(), 2) AS DOUBLE) AS amount
        FROM range({rows}) r(i)
    """).fetchall()
    w0, w1 = T0 + timedelta(days=60), T0 + timedelta(days=80)
    con.execute(f"""
        CREATE TABLE victims AS
        SELECT c, min(timestamp) AS exposed FROM raw
        WHERE m = {int(BREACHED[1:])} AND timestamp BETWEEN TIMESTAMPTZ '{w0.isoformat()}'
              AND TIMESTAMPTZ '{w1.isoformat()}' AND hash(c) % {victim_every} = 0
        GROUP BY c
    """).fetchall()
    con.execute(f"""
        CREATE TABLE frauds AS
        SELECT row_number() OVER (ORDER BY c, f) AS j, c, f AS timestamp, cloned FROM (
            SELECT c, exposed + to_microseconds(
                CAST((3 + 17 * random()) * 86400e6 AS BIGINT)) AS f,
                random() < 0.65 AS cloned FROM victims
            UNION ALL
            SELECT c, {t0} + to_microseconds(CAST(random() * {DAYS} * 86400e6 AS BIGINT)), false
            FROM (SELECT DISTINCT c FROM raw WHERE hash(c) % 2000 = 1))
    """).fetchall()
    card = "'c' || lpad(CAST(c AS VARCHAR), 9, '0')"
    merchant = "'m' || lpad(CAST(m AS VARCHAR), 5, '0')"
    con.execute(f"""
        CREATE VIEW transactions AS
        SELECT 't' || CAST(i AS VARCHAR) AS txn_id, timestamp, {card} AS card_id, amount,
               {merchant} AS merchant_id, 'cu' || CAST(c AS VARCHAR) AS customer_id,
               'EUR' AS currency, '5411' AS mcc, {merchant} AS merchant_name,
               'FR' AS merchant_country, 48.8 + (m % 100) * 0.002 AS merchant_lat,
               2.3 + (m % 97) * 0.002 AS merchant_lon, {merchant} || '-T1' AS terminal_id,
               'card_present' AS channel, 'chip' AS entry_mode, CAST(0 AS TINYINT) AS is_fraud,
               CAST(NULL AS TIMESTAMPTZ) AS fraud_reported_at
        FROM raw
        UNION ALL
        SELECT 'f' || CAST(j AS VARCHAR), timestamp, {card}, 250.0,
               CASE WHEN cloned THEN 'cashout' ELSE 'web' END, 'cu' || CAST(c AS VARCHAR), 'USD',
               CASE WHEN cloned THEN '6011' ELSE '5732' END,
               CASE WHEN cloned THEN 'cashout' ELSE 'web' END, 'US',
               CASE WHEN cloned THEN 40.713 END, CASE WHEN cloned THEN -74.006 END,
               CASE WHEN cloned THEN 'cashout-T1' ELSE NULL END,
               CASE WHEN cloned THEN 'card_present' ELSE 'ecommerce' END,
               CASE WHEN cloned THEN 'magstripe' ELSE 'ecommerce' END,
               CAST(1 AS TINYINT), timestamp + INTERVAL 3 DAY
        FROM frauds
    """).fetchall()


def check_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The generated history has the contract's columns, in order (or the bench has rotted)."""
    got = [r[0] for r in con.execute("DESCRIBE transactions").fetchall()]
    assert got == list(HISTORY_SCHEMA.names), got


def to_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """Write the history to Parquet (streamed, in time order as the workspace keeps it) and
    return a fresh connection whose ``transactions`` view reads it."""
    path.mkdir(parents=True, exist_ok=True)
    out = path / "history.parquet"
    con.execute("SET preserve_insertion_order = true").fetchall()
    con.execute(f"COPY (SELECT * FROM transactions) TO '{out}' "
                "(FORMAT parquet, ROW_GROUP_SIZE 1000000)").fetchall()  # fmt: skip
    fresh = duckdb.connect()
    fresh.execute(f"CREATE VIEW transactions AS SELECT * FROM read_parquet('{out}')").fetchall()
    return fresh


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--parquet", type=Path, default=None, help="detect over Parquet here")
    parser.add_argument(
        "--clones",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="clones as evidence (off by default, as in the detector): --clones",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="detect over the Parquet a previous run left in --parquet",
    )
    args = parser.parse_args(argv)
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}").fetchall()
    t = time.perf_counter()
    reuse = args.reuse and args.parquet is not None and (args.parquet / "history.parquet").exists()
    if reuse:  # the history a previous run wrote (same rows, same seed)
        out = args.parquet / "history.parquet"
        con.execute(f"CREATE VIEW transactions AS SELECT * FROM read_parquet('{out}')").fetchall()
        check_schema(con)
        n = con.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
        victims = "(reused)"
    else:
        generate(con, args.rows)
        check_schema(con)
        n, victims = con.execute(
            "SELECT count(*), (SELECT count(*) FROM victims) FROM transactions"
        ).fetchall()[0]
    if args.parquet is not None and not reuse:
        con = to_parquet(con, args.parquet)
        con.execute(f"SET threads = {args.threads}").fetchall()
    elif not reuse:  # detection reads a table, not strings made on the fly
        con.execute("CREATE TABLE history AS SELECT * FROM transactions").fetchall()
        con.execute("DROP VIEW transactions").fetchall()
        con.execute("CREATE VIEW transactions AS SELECT * FROM history").fetchall()
        con.execute("DROP TABLE raw").fetchall()
    made = time.perf_counter() - t
    as_of = T0 + timedelta(days=100)
    load = os.getloadavg()
    t, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    config = DetectConfig(counterfeit_use=args.clones)
    found = detect(con, as_of, config)
    took = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    used = cpu1.ru_utime - cpu.ru_utime + cpu1.ru_stime - cpu.ru_stime
    source = f"parquet {args.parquet}" if args.parquet else "duckdb table (in memory)"
    clones = len(clones_seen(duckdb_engine(con), as_of, config))
    print(f"rows={n:,} victims={victims} generated in {made:.1f}s threads={args.threads} "
          f"source={source}")  # fmt: skip
    print(f"cards seen paying as clones by then: {clones}")
    print(f"detect as of {as_of:%Y-%m-%d}: {took:.1f}s wall, {used:.1f}s CPU, "
          f"{n / took / 1e6:.1f} M rows/s; load average before {load[0]:.1f} {load[1]:.1f}, "
          f"after {os.getloadavg()[0]:.1f}")  # fmt: skip
    for s in found[:5]:
        print(
            f"  {s.merchant_id:10} score={s.score:7.2f} fraud_cards={s.fraud_cards:5d} "
            f"exposed={s.exposed_cards:7d} window={s.window_start:%m-%d}..{s.window_end:%m-%d}"
        )
    first = bool(found) and found[0].merchant_id == BREACHED
    print(f"breached {BREACHED} ranked first: {first}")
    extra = f" --parquet {args.parquet}" if args.parquet else ""
    extra += " --reuse" if reuse else ""
    extra += " --clones" if args.clones else ""
    print(f"command: .venv/bin/python bench/bench_breach_scale.py --rows {args.rows}{extra}")
    return {"rows": n, "victims": victims, "seconds": took, "found": found, "first": first}


if __name__ == "__main__":
    main()
