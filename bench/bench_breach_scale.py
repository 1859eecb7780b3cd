"""How long compromise detection takes on a large history (issue 5: 100 M transactions in under
a minute on a 2-core machine).

Generates, inside DuckDB with ``range`` and ``random``, a history of ROWS payments over 120 days
by ROWS/100 cards at 50,000 merchants (Zipf-like popularity), with one breached merchant: 2% of
the cards that paid there during a 20-day window are defrauded elsewhere 3-20 days later; plus
background fraud on 0.05% of cards at random times. Then times ``detect`` as of day 100.

    .venv/bin/python bench/bench_breach_scale.py --rows 100_000_000
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

import duckdb

from cardwatch.breach import DetectConfig, detect

T0 = datetime(2013, 9, 1, tzinfo=UTC)
BREACHED = "m00007"


def generate(con: duckdb.DuckDBPyConnection, rows: int, seed: float = 0.42) -> None:
    cards = max(rows // 100, 1000)
    con.execute(f"SELECT setseed({seed})").fetchall()
    con.execute(f"""
        CREATE TABLE raw AS
        SELECT 'c' || lpad(CAST(c AS VARCHAR), 9, '0') AS card_id,
               TIMESTAMPTZ '{T0.isoformat()}' + to_microseconds(
                   CAST(random() * 120 * 86400e6 AS BIGINT)) AS timestamp,
               'm' || lpad(CAST(m AS VARCHAR), 5, '0') AS merchant_id
        FROM (SELECT CAST(floor(random() * {cards}) AS BIGINT) AS c,
                     CAST(floor(50000 * pow(random(), 3)) AS BIGINT) AS m
              FROM range({rows}))
    """).fetchall()
    w0, w1 = T0 + timedelta(days=60), T0 + timedelta(days=80)
    con.execute(f"""
        CREATE TABLE victims AS
        SELECT card_id, min(timestamp) AS exposed FROM raw
        WHERE merchant_id = '{BREACHED}' AND timestamp BETWEEN TIMESTAMPTZ '{w0.isoformat()}'
              AND TIMESTAMPTZ '{w1.isoformat()}' AND hash(card_id) % 50 = 0
        GROUP BY card_id
    """).fetchall()
    con.execute(f"""
        CREATE TABLE transactions AS
        SELECT card_id, timestamp, merchant_id, merchant_id AS merchant_name,
               merchant_id || '-T1' AS terminal_id, CAST(0 AS TINYINT) AS is_fraud,
               CAST(NULL AS TIMESTAMPTZ) AS fraud_reported_at
        FROM raw
        UNION ALL
        SELECT card_id, f, 'web', 'web', NULL, 1, f + INTERVAL 3 DAY FROM (
            SELECT card_id, exposed + to_microseconds(
                CAST((3 + 17 * random()) * 86400e6 AS BIGINT)) AS f FROM victims
            UNION ALL
            SELECT DISTINCT card_id, TIMESTAMPTZ '{T0.isoformat()}' + to_microseconds(
                CAST(random() * 120 * 86400e6 AS BIGINT)) FROM raw WHERE hash(card_id) % 2000 = 1)
    """).fetchall()
    con.execute("DROP TABLE raw").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}").fetchall()
    t = time.perf_counter()
    generate(con, args.rows)
    made = time.perf_counter() - t
    n, victims = con.execute(
        "SELECT count(*), (SELECT count(*) FROM victims) FROM transactions").fetchall()[0]
    as_of = T0 + timedelta(days=100)
    t = time.perf_counter()
    found = detect(con, as_of, DetectConfig())
    took = time.perf_counter() - t
    print(f"rows={n:,} victims={victims} generated in {made:.1f}s threads={args.threads}")
    print(f"detect as of {as_of:%Y-%m-%d}: {took:.1f}s, {n / took / 1e6:.1f} M rows/s")
    for s in found[:5]:
        print(f"  {s.merchant_id:10} score={s.score:7.2f} fraud_cards={s.fraud_cards:5d} "
              f"exposed={s.exposed_cards:7d} window={s.window_start:%m-%d}..{s.window_end:%m-%d}")
    print(f"breached {BREACHED} ranked first: {bool(found) and found[0].merchant_id == BREACHED}")
    print(f"command: .venv/bin/python bench/bench_breach_scale.py --rows {args.rows}")


if __name__ == "__main__":
    main()
