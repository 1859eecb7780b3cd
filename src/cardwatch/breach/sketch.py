"""Presence sketches: which cards paid where, day by day, kept beside the history so that daily
detection does not count them again from every payment.

Detection's heaviest passes count distinct cards over a 120-day look-back: at every store a
defrauded card used (the blame denominators), at every chain, in the whole portfolio (the
baseline rate). Run daily, they would rescan four months of payments to learn one more day. But
an imported day never changes, and distinct counts have a summary that merges: the registers of
a HyperLogLog (Flajolet, Fusy, Gandouet & Meunier, 2007), one maximum per register. So each
history part gets, when it is written, the registers of its days — per (UTC day, store) with
``PLACE_BITS`` bits of registers (±2.3 %, as DuckDB's own ``approx_count_distinct``), and per
day for the whole portfolio with ``CARD_BITS`` (±1 %), beside the day's payment count and
first payment — and a run merges the sketches of the look-back's whole days with registers
computed from the raw payments of what they do not cover: the two partial days at its ends, the
service's live payments, a part written before sketches existed. Merging by maximum is
idempotent, so a payment seen twice (a live payment later imported) is counted once.

Cards are hashed with MD5 (its lower 64 bits), not the engine's own hash, so that sketches
written by one version of DuckDB still merge with registers computed by the next.

Only the approximate counts come from here — those that rank candidates, spread blame and set
the baseline, which ``approx_count_distinct`` gave before. The exposure a place is tested on is
still counted exactly from the payments (:func:`cardwatch.breach.queries.window_cards_sql`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from cardwatch.breach.engine import SKETCH_VIEWS, Engine, as_utc

__all__ = [
    "CARD_BITS",
    "PLACE_BITS",
    "SKETCH_VIEWS",
    "Span",
    "card_sketch_sql",
    "chain_cards_sql",
    "estimate_sql",
    "place_sketch_sql",
    "population_sql",
    "store_cards_sql",
    "write_sketches",
]

PLACE_BITS = 11
CARD_BITS = 14
DAY_US = 86_400_000_000


def _day(ts: str) -> str:
    return f"CAST(floor(epoch_us({ts}) / {DAY_US}) AS INTEGER)"


def _reg_rho(bits: int, card: str = "card_id") -> tuple[str, str]:
    """The register a card falls in and its rank there: the position of the first 1-bit of the
    rest of its hash (``64 - bits`` bits), counted from the top."""
    h = f"md5_number_lower({card})"
    rest = 64 - bits
    w = f"({h} >> {bits})"
    reg = f"CAST({h} & {(1 << bits) - 1} AS SMALLINT)"
    rho = (
        f"CAST(CASE WHEN {w} = 0 THEN {rest + 1}"
        f" ELSE greatest(1, {rest} - CAST(floor(log2(CAST({w} AS DOUBLE))) AS INTEGER)) END"
        " AS TINYINT)"
    )
    return reg, rho


def place_sketch_sql(source: str, where: str = "TRUE") -> str:
    """Registers per (day, store) of the payments of ``source`` that satisfy ``where``."""
    reg, rho = _reg_rho(PLACE_BITS)
    return f"""
        SELECT {_day("timestamp")} AS day, merchant_id, any_value(merchant_name) AS merchant_name,
               {reg} AS reg, max({rho}) AS rho
        FROM {source} WHERE {where}
        GROUP BY day, merchant_id, reg
    """


def card_sketch_sql(source: str, where: str = "TRUE") -> str:
    """Registers per day of every card that paid, with the day's payments and first payment (on
    register -1)."""
    reg, rho = _reg_rho(CARD_BITS)
    return f"""
        SELECT {_day("timestamp")} AS day, {reg} AS reg, max({rho}) AS rho,
               NULL::BIGINT AS txns, NULL::BIGINT AS first_us
        FROM {source} WHERE {where}
        GROUP BY day, reg
        UNION ALL
        SELECT {_day("timestamp")} AS day, CAST(-1 AS SMALLINT) AS reg, NULL::TINYINT AS rho,
               count(*) AS txns, min(epoch_us(timestamp)) AS first_us
        FROM {source} WHERE {where}
        GROUP BY day
    """


def estimate_sql(bits: int, registers: str = "count(*)", ranks: str = "sum(pow(2.0, -rho))") -> str:
    """The HyperLogLog estimate from a group's filled registers (``registers``) and the sum of
    2^-rank over them (``ranks``), with linear counting while many registers are empty."""
    m = 1 << bits
    alpha = 0.7213 / (1 + 1.079 / m)
    empty = f"({m} - {registers})"
    raw = f"({alpha * m * m!r} / ({ranks} + {empty}))"
    return (
        f"CASE WHEN {raw} <= {2.5 * m} AND {empty} > 0 THEN {m} * ln({m} / {empty}) ELSE {raw} END"
    )


class Span:
    """A look-back ``[start, as_of]`` cut into the whole UTC days its sketches cover
    (``first_day``..``last_day``, day numbers since the epoch) and the rest, read from the
    payments."""

    def __init__(self, e: Engine, start: datetime, as_of: datetime) -> None:
        start, as_of = as_utc(start), as_utc(as_of)
        s_us = int(start.timestamp() * 1_000_000)
        a_us = int(as_of.timestamp() * 1_000_000)
        self.first_day = math.ceil(s_us / DAY_US)
        self.last_day = a_us // DAY_US - 1  # the day ending at or before as_of
        epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
        whole_from = epoch + timedelta(days=self.first_day)
        whole_to = epoch + timedelta(days=self.last_day + 1)
        inside = f"timestamp >= {e.ts(start)} AND timestamp <= {e.ts(as_of)}"
        if self.first_day > self.last_day:  # no whole day: everything from the payments
            self.raw = inside
            self.days = "FALSE"
            self.unsketched = "FALSE"
            return
        self.days = f"day BETWEEN {self.first_day} AND {self.last_day}"
        self.raw = f"{inside} AND (timestamp < {e.ts(whole_from)} OR timestamp >= {e.ts(whole_to)})"
        self.unsketched = f"timestamp >= {e.ts(whole_from)} AND timestamp < {e.ts(whole_to)}"


def _place_registers(span: Span, keep: str) -> str:
    """Every register row of the look-back at the stores that ``keep`` (a condition on
    ``merchant_id``/``merchant_name``) admits: sketched days, then the payments they miss."""
    return f"""
        SELECT merchant_id, merchant_name, reg, rho FROM cw_place_sketch
        WHERE {span.days} AND {keep}
        UNION ALL
        SELECT merchant_id, merchant_name, reg, rho
        FROM ({place_sketch_sql("transactions", f"{span.raw} AND {keep}")})
        UNION ALL
        SELECT merchant_id, merchant_name, reg, rho
        FROM ({place_sketch_sql("cw_unsketched", f"{span.unsketched} AND {keep}")})
    """


def store_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Approximate distinct cards per store of ``cw_places`` over the look-back, from the
    sketches (shaped as :func:`cardwatch.breach.queries.store_cards_sql`)."""
    rows = _place_registers(Span(e, start, as_of),
                            "merchant_id IN (SELECT merchant_id FROM cw_places)")  # fmt: skip
    return f"""
        WITH regs AS (SELECT merchant_id, reg, max(rho) AS rho FROM ({rows})
                      GROUP BY merchant_id, reg)
        SELECT merchant_id, CAST(round({estimate_sql(PLACE_BITS)}) AS BIGINT) AS cards
        FROM regs GROUP BY merchant_id
    """


def chain_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Stores and approximate distinct cards per name of ``cw_names``, from the sketches (shaped
    as :func:`cardwatch.breach.queries.chain_cards_sql`)."""
    rows = _place_registers(Span(e, start, as_of),
                            "merchant_name IN (SELECT merchant_name FROM cw_names)")  # fmt: skip
    return f"""
        WITH visits AS ({rows}),
        regs AS (SELECT merchant_name, reg, max(rho) AS rho FROM visits
                 GROUP BY merchant_name, reg),
        cards AS (SELECT merchant_name, CAST(round({estimate_sql(PLACE_BITS)}) AS BIGINT) AS cards
                  FROM regs GROUP BY merchant_name),
        stores AS (SELECT merchant_name, count(DISTINCT merchant_id) AS stores FROM visits
                   GROUP BY merchant_name)
        SELECT merchant_name, stores, cards FROM stores JOIN cards USING (merchant_name)
    """


def population_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Approximate active cards, exact payments and the first payment of the look-back, from the
    sketches (shaped as :func:`cardwatch.breach.queries.population_sql`)."""
    span = Span(e, start, as_of)
    rows = f"""
        SELECT reg, rho, txns, first_us FROM cw_card_sketch WHERE {span.days}
        UNION ALL SELECT reg, rho, txns, first_us FROM ({card_sketch_sql("transactions", span.raw)})
        UNION ALL SELECT reg, rho, txns, first_us
        FROM ({card_sketch_sql("cw_unsketched", span.unsketched)})
    """
    return f"""
        WITH rows AS ({rows}),
        regs AS (SELECT reg, max(rho) AS rho FROM rows WHERE reg >= 0 GROUP BY reg),
        est AS (SELECT {estimate_sql(CARD_BITS)} AS cards FROM regs),
        counts AS (SELECT sum(txns) AS txns, min(first_us) AS first_us FROM rows WHERE reg < 0)
        SELECT CASE WHEN counts.txns IS NULL THEN 0 ELSE CAST(round(est.cards) AS BIGINT) END
                   AS cards,
               CAST(coalesce(counts.txns, 0) AS BIGINT) AS txns, counts.first_us AS first_us
        FROM est, counts
    """


def write_sketches(con: duckdb.DuckDBPyConnection, part: Path, places: Path, cards: Path) -> None:
    """Write the two sketches of one history part (a Parquet file of payments) through a DuckDB
    connection ``con``, each to a temporary name and then renamed into place."""
    source = f"read_parquet('{part}')"
    for sql, target in ((place_sketch_sql(source), places), (card_sketch_sql(source), cards)):
        tmp = target.with_name(f".{target.name}.tmp")
        con.execute(f"COPY ({sql}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
        tmp.rename(target)
