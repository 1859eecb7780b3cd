"""The detection SQL: every pass over the full history, written once for DuckDB and Spark.

Each function returns query text for an :class:`~cardwatch.breach.engine.Engine`; only the small
per-card and per-place results come back to Python. Every query is bounded to
``[start, as_of]``, so nothing that happened after ``as_of`` is read, and a fraud label counts only
when it was reported by ``as_of``.

Tables registered by the caller (small): ``cw_fraud_cards(card_id, first_fraud_us)``,
``cw_places(merchant_id)``, ``cw_names(merchant_name)``,
``cw_keys(key)``, ``cw_windows(wid, key, ws_us, we_us)``.
"""

from __future__ import annotations

from datetime import datetime

from cardwatch.breach.engine import Engine, as_utc

DAY_US = 86_400_000_000

__all__ = [
    "chain_cards_sql",
    "counterfeit_use_sql",
    "daily_traffic_sql",
    "fraud_cards_sql",
    "population_sql",
    "pre_fraud_visits_sql",
    "reported_or_cloned_sql",
    "reports_sql",
    "store_cards_sql",
    "window_cards_sql",
    "window_store_cards_sql",
]


def _read_at_till(alias: str = "") -> str:
    """The card itself was read: at a till or an ATM (not online, not by phone)."""
    return f"{alias}channel IN ('card_present', 'atm')"


def _from_stripe(alias: str = "") -> str:
    """Read at a till from the magnetic stripe (or a chip's fallback to it): what a copied
    stripe looks like, and all a copy can do."""
    return f"{_read_at_till(alias)} AND {alias}entry_mode IN ('magstripe', 'fallback')"


def _span(e: Engine, start: datetime, as_of: datetime, alias: str = "") -> str:
    col = f"{alias}timestamp"
    return f"{col} >= {e.ts(start)} AND {col} <= {e.ts(as_of)}"


def fraud_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Cards whose fraud was reported by ``as_of``, with their first (known) fraud; only cards
    whose first fraud falls after ``start`` can have visited anything before it in the window.
    ``counterfeit`` marks cards with a card-present fraud read from a magnetic stripe: a cloned
    card, the signature of stolen track data (a till breach, a skimmer) rather than of phishing
    or a lost card. ``reported_us`` is the card's first report: how long victims take to surface.
    ``confirmed`` is 1: reported (see :func:`reported_or_cloned_sql`)."""
    return f"""
        SELECT card_id, min({e.epoch_us("timestamp")}) AS first_fraud_us,
               min({e.epoch_us("fraud_reported_at")}) AS reported_us,
               max(CASE WHEN {_from_stripe()} THEN 1 ELSE 0 END)
                   AS counterfeit, 1 AS confirmed
        FROM transactions
        WHERE is_fraud = 1 AND fraud_reported_at <= {e.ts(as_of)} AND timestamp <= {e.ts(as_of)}
        GROUP BY card_id
        HAVING min(timestamp) > {e.ts(start)}
    """


def _km(a: str, b: str) -> str:
    """Great-circle distance in km between the merchants of rows ``a`` and ``b`` (haversine;
    NULL when either lacks coordinates)."""
    return (
        f"2 * 6371.0 * asin(sqrt(pow(sin(radians({b}.lat - {a}.lat) / 2), 2)"
        f" + cos(radians({a}.lat)) * cos(radians({b}.lat))"
        f" * pow(sin(radians({b}.lon - {a}.lon) / 2), 2)))"
    )


def counterfeit_use_sql(
    e: Engine, start: datetime, as_of: datetime, alibi_kmh: float | None = None
) -> str:
    """Cards seen paying as clones by ``as_of``, reported or not: a card-present payment read
    from a magnetic stripe (or a chip fallback) in a country where the card never paid by chip
    or contactless. A chip card cannot be copied, its stripe can: this is what stolen track
    data looks like when it is used, days before the cardholder reports anything. Travellers at
    a terminal without a chip reader look the same, at random places: noise under the null.
    Shaped as :func:`fraud_cards_sql` (the first such payment stands for the first fraud and for
    its report: it is known when it is made).

    ``alibi_kmh``: count a card only when its chip was also read somewhere no traveller could
    have come from in the time between — farther than this speed (km/h) covers, two reads less
    than a quarter of an hour apart taken as that far apart — so that the card was in two places
    at once. A traveller's card is where its stripe is read; a clone's chip stays at home, in its
    owner's pocket. Rows without coordinates give no alibi. ``confirmed`` is 0: nobody has
    reported it."""
    stripe_us = e.epoch_us("s.timestamp")
    clones = f"""
            SELECT s.card_id, s.merchant_country, {stripe_us} AS ts_us,
                   s.merchant_lat AS lat, s.merchant_lon AS lon
            FROM transactions s LEFT JOIN chip c
              ON s.card_id = c.card_id AND s.merchant_country = c.merchant_country
            WHERE {_span(e, start, as_of, "s.")} AND {_from_stripe("s.")} AND c.card_id IS NULL"""
    alibi = ""
    if alibi_kmh is not None:
        reach_us = int(20_037.5 / alibi_kmh * 3_600_000_000)  # half the Earth's circumference
        alibi = f""",
        chip_read AS (
            SELECT card_id, {e.epoch_us("timestamp")} AS ts_us,
                   merchant_lat AS lat, merchant_lon AS lon
            FROM transactions
            WHERE {_span(e, start, as_of)} AND entry_mode IN ('chip', 'contactless')
              AND merchant_lat IS NOT NULL AND merchant_lon IS NOT NULL
              AND card_id IN (SELECT card_id FROM clone)),
        alibi AS (
            SELECT DISTINCT s.card_id FROM clone s JOIN chip_read k ON s.card_id = k.card_id
            WHERE k.ts_us BETWEEN s.ts_us - {reach_us} AND s.ts_us + {reach_us}
              AND {_km("s", "k")}
                  > {alibi_kmh} * greatest(abs(k.ts_us - s.ts_us) / 3600000000.0, 0.25))"""
    keep = " WHERE card_id IN (SELECT card_id FROM alibi)" if alibi_kmh is not None else ""
    return f"""
        WITH chip AS (
            SELECT DISTINCT card_id, merchant_country FROM transactions
            WHERE {_span(e, start, as_of)} AND entry_mode IN ('chip', 'contactless')),
        clone AS ({clones}){alibi}
        SELECT card_id, min(ts_us) AS first_fraud_us, min(ts_us) AS reported_us, 1 AS counterfeit,
               0 AS confirmed
        FROM clone{keep}
        GROUP BY card_id
    """


def reported_or_cloned_sql(
    e: Engine, start: datetime, as_of: datetime, alibi_kmh: float | None = None
) -> str:
    """The cards reported defrauded by ``as_of`` and those seen paying as clones by then
    (:func:`fraud_cards_sql`, :func:`counterfeit_use_sql`), one row a card from whichever came
    first; ``confirmed`` is 0 for a clone not reported yet."""
    reports = fraud_cards_sql(e, start, as_of)
    clones = counterfeit_use_sql(e, start, as_of, alibi_kmh)
    return f"""
        SELECT card_id, min(first_fraud_us) AS first_fraud_us, min(reported_us) AS reported_us,
               max(counterfeit) AS counterfeit, max(confirmed) AS confirmed
        FROM (SELECT * FROM ({reports}) r UNION ALL SELECT * FROM ({clones}) c) u
        GROUP BY card_id
    """


def pre_fraud_visits_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Every payment of a defrauded card before its first fraud: the candidate exposures. A card
    seen as a clone and not reported (``cw_fraud_cards.confirmed = 0``,
    :func:`reported_or_cloned_sql`) counts only where it was read (a till, an ATM): a stripe is
    copied where it is swiped, and the airline a traveller booked online before paying by stripe
    abroad is not such a place."""
    ts_us = e.epoch_us("t.timestamp")
    return f"""
        SELECT t.card_id, t.merchant_id, t.merchant_name, t.terminal_id, {ts_us} AS ts_us
        FROM transactions t JOIN cw_fraud_cards f ON t.card_id = f.card_id
        WHERE {_span(e, start, as_of, "t.")} AND {ts_us} < f.first_fraud_us
          AND (f.confirmed = 1 OR {_read_at_till("t.")})
    """


def population_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """How many cards are active, how much they pay and since when: the baseline against which a
    place's share of defrauded cards is judged (and the span a window could have been chosen
    from)."""
    return f"""
        SELECT {e.distinct("card_id")} AS cards, count(*) AS txns,
               min({e.epoch_us("timestamp")}) AS first_us
        FROM transactions WHERE {_span(e, start, as_of)}
    """


def store_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Distinct cards per store visited by a defrauded card (``cw_places``). Approximate: these
    spread blame and rank candidates; the windows that are tested are counted exactly."""
    return f"""
        SELECT merchant_id, {e.distinct("card_id")} AS cards
        FROM transactions
        WHERE {_span(e, start, as_of)} AND merchant_id IN (SELECT merchant_id FROM cw_places)
        GROUP BY merchant_id
    """


def chain_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Stores and distinct cards per name under which defrauded cards used several stores
    (``cw_names``): a chain."""
    return f"""
        SELECT merchant_name, count(DISTINCT merchant_id) AS stores,
               {e.distinct("card_id")} AS cards
        FROM transactions
        WHERE {_span(e, start, as_of)} AND merchant_name IN (SELECT merchant_name FROM cw_names)
        GROUP BY merchant_name
    """


def daily_traffic_sql(e: Engine, start: datetime, as_of: datetime, column: str) -> str:
    """Payments per day at each candidate place (``cw_keys``): the place's own rhythm, against
    which its defrauded cards' visits are placed in time."""
    start_us = int(as_utc(start).timestamp() * 1_000_000)
    day = f"CAST(floor(({e.epoch_us('timestamp')} - {start_us}) / {DAY_US}) AS BIGINT)"
    return f"""
        SELECT {column} AS key, {day} AS day, count(*) AS txns
        FROM transactions
        WHERE {_span(e, start, as_of)} AND {column} IN (SELECT key FROM cw_keys)
        GROUP BY 1, 2
    """


def window_cards_sql(e: Engine, start: datetime, as_of: datetime, column: str) -> str:
    """Exact distinct cards that paid at each candidate place (``column`` = ``merchant_id`` for
    stores, ``merchant_name`` for chains) during its window: the exposure being tested."""
    ts_us = e.epoch_us("t.timestamp")
    return f"""
        SELECT w.wid AS wid, count(DISTINCT t.card_id) AS cards
        FROM transactions t JOIN cw_windows w ON t.{column} = w.key
        WHERE {_span(e, start, as_of, "t.")} AND {ts_us} >= w.ws_us AND {ts_us} <= w.we_us
        GROUP BY w.wid
    """


def window_store_cards_sql(e: Engine, start: datetime, as_of: datetime) -> str:
    """Exact distinct cards that paid at each store of a chain (``cw_windows.key`` is the
    chain's name) during a window: the customers of each store, against which the subset scan
    judges which of the chain's stores hold its victims."""
    ts_us = e.epoch_us("t.timestamp")
    return f"""
        SELECT w.wid AS wid, t.merchant_id AS merchant_id, count(DISTINCT t.card_id) AS cards
        FROM transactions t JOIN cw_windows w ON t.merchant_name = w.key
        WHERE {_span(e, start, as_of, "t.")} AND {ts_us} >= w.ws_us AND {ts_us} <= w.we_us
        GROUP BY w.wid, t.merchant_id
    """


def reports_sql(e: Engine, start: datetime, end: datetime) -> str:
    """When fraud reports arrived: a daily re-run with no new report cannot change its alerts."""
    return f"""
        SELECT DISTINCT {e.epoch_us("fraud_reported_at")} AS reported_us
        FROM transactions
        WHERE is_fraud = 1 AND fraud_reported_at > {e.ts(start)}
          AND fraud_reported_at <= {e.ts(end)}
    """
