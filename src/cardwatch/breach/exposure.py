"""Who a breach exposed, and which of them to help first.

:func:`exposure` lists every card used at the suspect's stores during its window (unique cards,
not transactions: that is what gets reissued and told). For a chain-level suspect — the evidence
points at the chain's tills, not at one shop — that is every store of the chain
(:func:`chain_stores`: every ``merchant_id`` that traded under its name), not only the few whose
victims have been reported so far: a breach of a chain's payment system leaks at all its tills,
and the stores without a reported victim yet are those whose victims have not been defrauded, or
have not noticed, yet. ``chain_wide=False`` keeps it to the stores with victims (the analyst's
choice when the chain's stores do not share tills). :func:`triage` ranks them by what has
happened to each card since: fraud already reported, then the pattern of stolen track data in use
(magstripe or fallback payments abroad: a counterfeit card), card-present payments in countries
the card had never been used in, and only faintly what every honest cardholder does (online
payments, a larger purchase than usual), so that real victims reach an analyst before worried but
untouched cardholders, and ordinary shopping after the breach does not pass for a thief's.
:func:`reissue_plan` turns the ranking into rows for a CSV export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from cardwatch.breach.engine import History, as_utc, duckdb_engine
from cardwatch.breach.suspect import Suspect

__all__ = [
    "Exposure",
    "TriageRow",
    "chain_stores",
    "exposed_stores",
    "exposure",
    "reissue_plan",
    "triage",
    "triage_risk",
]


@dataclass(frozen=True, slots=True)
class Exposure:
    """The cards exposed by one suspected breach."""

    merchant_ids: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    cards: tuple[str, ...]
    customers: int
    transactions: int
    card_not_present_transactions: int = 0
    #: The stores are all of a chain's (``merchant_ids``), not only those with victims.
    chain_wide: bool = False
    #: Stores where the suspect's defrauded cards paid (the detection's ``merchant_ids``).
    stores_with_victims: int = 0

    @property
    def data_stolen(self) -> str:
        """What the thieves most likely took: ``"track"`` when most payments there were made
        with the card present (tills, ATMs: track data, so counterfeit cards), else
        ``"card_not_present"`` (a web shop: card number and CVV2). Unknown channels count as
        present — a point of purchase with terminals is a till.

        >>> t = datetime(2013, 12, 1)
        >>> Exposure(("m1",), t, t, ("c1",), 1, 10, 2).data_stolen
        'track'
        >>> Exposure(("w1",), t, t, ("c1",), 1, 10, 8).data_stolen
        'card_not_present'
        """
        return (
            "card_not_present"
            if 2 * self.card_not_present_transactions > self.transactions
            else "track"
        )


@dataclass(frozen=True, slots=True)
class TriageRow:
    """One exposed card and the evidence that its data is being used."""

    card_id: str
    customer_id: str | None
    risk: float
    fraud_reported: int
    card_not_present: int
    magstripe_abroad: int
    amount_spike: float
    payments_since: int
    #: Countries the card was used in with the card present since the window opened, never
    #: before it (a thief's cash-out abroad; also an honest trip).
    new_countries: int = 0
    #: Card-not-present payments at a merchant the card never used before the window, of at
    #: least :data:`SPIKE_FACTOR` times its usual amount (stolen card details cashed out online).
    new_merchant_spikes: int = 0


#: How many times a card's usual (median) amount an online payment at a new merchant must be
#: to count as a spike.
SPIKE_FACTOR = 10


#: Weights of :func:`triage`'s risk: fraud reported outranks everything; one counterfeit-pattern
#: payment (magstripe or fallback abroad, in a country where the card was never used with its chip
#: or contactless: a cloned stripe cannot do either, a traveller at a magstripe-only terminal
#: also pays by chip there) is strong evidence on its own; a card-present payment in a new country
#: or a large online payment at a new merchant is weaker (people travel, and buy a sofa); online
#: payments and larger purchases are what honest cardholders do every day after a breach too, so
#: they only break ties (capped).
RISK_WEIGHTS = {
    "fraud_reported": 100.0,
    "magstripe_abroad": 30.0,
    "new_countries": 3.0,
    "new_merchant_spikes": 6.0,
    "card_not_present": 0.1,
    "card_not_present_cap": 1.0,
    "amount_spike": 0.25,
    "amount_spike_cap": 1.0,
}


def triage_risk(
    fraud_reported: int,
    magstripe_abroad: int,
    new_countries: int,
    card_not_present: int,
    amount_spike: float,
    new_merchant_spikes: int = 0,
) -> float:
    """The history-only risk of one exposed card (see :data:`RISK_WEIGHTS`).

    >>> triage_risk(0, 0, 0, 40, 9.0)  # a busy online shopper: ties only
    2.0
    >>> triage_risk(0, 1, 0, 0, 0.0)
    30.0
    """
    w = RISK_WEIGHTS
    return (
        w["fraud_reported"] * fraud_reported
        + w["magstripe_abroad"] * magstripe_abroad
        + w["new_countries"] * new_countries
        + w["new_merchant_spikes"] * min(new_merchant_spikes, 2)
        + min(w["card_not_present"] * card_not_present, w["card_not_present_cap"])
        + min(w["amount_spike"] * max(amount_spike - 3.0, 0.0), w["amount_spike_cap"])
    )


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def chain_stores(history: History, chain: str) -> tuple[str, ...]:
    """Every store (``merchant_id``) that traded under the chain's name, in order.

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> chain_stores(HISTORY_SCHEMA.empty_table(), "BIGMART")
    ()
    """
    e = duckdb_engine(history)
    rows = e.query(f"""
        SELECT DISTINCT merchant_id FROM transactions
        WHERE merchant_name = {_in_list((chain,))} ORDER BY merchant_id
    """)
    return tuple(rows.column("merchant_id").to_pylist())


def exposed_stores(history: History, suspect: Suspect, chain_wide: bool = True) -> tuple[str, ...]:
    """The stores whose payments in the window expose a card: a chain-level suspect's whole
    chain (its stores with victims first), unless ``chain_wide`` is False; else the suspect's."""
    if suspect.level != "chain" or not chain_wide:
        return suspect.merchant_ids
    every = chain_stores(history, suspect.chain or suspect.merchant_id)
    victims = set(suspect.merchant_ids)
    return suspect.merchant_ids + tuple(m for m in every if m not in victims)


def exposure(history: History, suspect: Suspect, *, chain_wide: bool = True) -> Exposure:
    """Every card that paid at the suspect's stores during its window — at every store of the
    chain for a chain-level suspect (see :func:`exposed_stores`).

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> s = Suspect("m1", "store", None, ("m1",), (), t, t, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> exposure(HISTORY_SCHEMA.empty_table(), s).cards
    ()
    """
    e = duckdb_engine(history)
    stores = exposed_stores(history, suspect, chain_wide)
    start, end = e.ts(suspect.window_start), e.ts(suspect.window_end)
    where = f"""merchant_id IN ({_in_list(stores)})
          AND timestamp >= {start} AND timestamp <= {end}"""
    rows = e.query(f"""
        SELECT card_id, count(*) AS txns,
               count(*) FILTER (WHERE channel IN ('ecommerce', 'moto')) AS cnp
        FROM transactions WHERE {where}
        GROUP BY card_id ORDER BY card_id
    """)
    # A card without a customer id is its own customer: people, not transactions, are counted.
    customers = (
        e.query(f"""
        SELECT count(DISTINCT coalesce(customer_id, 'card:' || card_id)) AS n
        FROM transactions WHERE {where}
    """)
        .column("n")[0]
        .as_py()
    )
    return Exposure(
        merchant_ids=stores,
        window_start=suspect.window_start,
        window_end=suspect.window_end,
        cards=tuple(rows.column("card_id").to_pylist()),
        customers=int(customers or 0),
        transactions=int(sum(rows.column("txns").to_pylist())),
        card_not_present_transactions=int(sum(rows.column("cnp").to_pylist())),
        chain_wide=suspect.level == "chain" and chain_wide,
        stores_with_victims=len(suspect.merchant_ids),
    )


def triage(history: History, exposed: Exposure, as_of: datetime) -> list[TriageRow]:
    """Exposed cards, most at risk first, from what each did between the window's start and
    ``as_of`` (labels only as reported by then). Home country is the card's most used merchant
    country before the window.

    >>> from cardwatch.schema import HISTORY_SCHEMA
    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> triage(HISTORY_SCHEMA.empty_table(), Exposure(("m1",), t, t, (), 0, 0), t)
    []
    """
    if not exposed.cards:
        return []
    e = duckdb_engine(history)
    e.register("cw_exposed", pa.table({"card_id": pa.array(exposed.cards, pa.string())}))
    ws, until = e.ts(exposed.window_start), e.ts(as_utc(as_of))
    rows = e.query(f"""
        WITH t AS (SELECT t.* FROM transactions t JOIN cw_exposed x USING (card_id)
                   WHERE t.timestamp <= {until}),
        before AS (SELECT card_id, mode(merchant_country) AS home, median(amount) AS usual
                   FROM t WHERE timestamp < {ws} GROUP BY card_id),
        seen AS (SELECT DISTINCT card_id, merchant_country FROM t
                 WHERE timestamp < {ws} AND merchant_country IS NOT NULL),
        after AS (SELECT * FROM t WHERE timestamp >= {ws}),
        fresh AS (SELECT a.card_id, count(DISTINCT a.merchant_country) AS new_countries
                  FROM after a LEFT JOIN seen s USING (card_id, merchant_country)
                  WHERE s.card_id IS NULL AND a.merchant_country IS NOT NULL
                    AND coalesce(a.channel, 'card_present') NOT IN ('ecommerce', 'moto')
                  GROUP BY a.card_id),
        chipped AS (SELECT DISTINCT card_id, merchant_country FROM t
                    WHERE entry_mode IN ('chip', 'contactless')),
        shops AS (SELECT DISTINCT card_id, merchant_id FROM t WHERE timestamp < {ws}),
        spikes AS (SELECT a.card_id, count(*) AS new_merchant_spikes
                   FROM after a JOIN before b USING (card_id)
                   LEFT JOIN shops s USING (card_id, merchant_id)
                   WHERE s.card_id IS NULL AND a.channel IN ('ecommerce', 'moto')
                     AND a.amount >= {SPIKE_FACTOR} * b.usual
                   GROUP BY a.card_id)
        SELECT x.card_id, any_value(a.customer_id) AS customer_id,
               coalesce(any_value(f.new_countries), 0) AS new_countries,
               coalesce(any_value(k.new_merchant_spikes), 0) AS new_merchant_spikes,
               count(a.txn_id) AS payments_since,
               count(*) FILTER (WHERE a.is_fraud = 1 AND a.fraud_reported_at <= {until})
                   AS fraud_reported,
               count(*) FILTER (WHERE a.channel IN ('ecommerce', 'moto')) AS card_not_present,
               count(*) FILTER (WHERE a.entry_mode IN ('magstripe', 'fallback')
                                AND a.merchant_country <> b.home AND c.card_id IS NULL)
                   AS magstripe_abroad,
               coalesce(max(a.amount) / nullif(any_value(b.usual), 0), 0) AS amount_spike
        FROM cw_exposed x LEFT JOIN after a USING (card_id) LEFT JOIN before b USING (card_id)
             LEFT JOIN fresh f ON f.card_id = x.card_id
             LEFT JOIN spikes k ON k.card_id = x.card_id
             LEFT JOIN chipped c
                 ON c.card_id = a.card_id AND c.merchant_country = a.merchant_country
        GROUP BY x.card_id
    """).to_pylist()
    out = [
        TriageRow(
            card_id=r["card_id"],
            customer_id=r["customer_id"],
            risk=triage_risk(
                int(r["fraud_reported"]),
                int(r["magstripe_abroad"]),
                int(r["new_countries"]),
                int(r["card_not_present"]),
                float(r["amount_spike"]),
                int(r["new_merchant_spikes"]),
            ),
            fraud_reported=int(r["fraud_reported"]),
            card_not_present=int(r["card_not_present"]),
            magstripe_abroad=int(r["magstripe_abroad"]),
            amount_spike=round(float(r["amount_spike"]), 2),
            payments_since=int(r["payments_since"]),
            new_countries=int(r["new_countries"]),
            new_merchant_spikes=int(r["new_merchant_spikes"]),
        )
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r.risk, -r.payments_since, r.card_id))


def reissue_plan(
    rows: list[TriageRow], suspect: Suspect, stores: int | None = None
) -> list[dict[str, Any]]:
    """CSV rows, by the same policy as ``cardwatch breach respond``
    (:func:`cardwatch.breach.response.classify`, from history alone: no engine signals): block
    and reissue cards with fraud or counterfeit-like use, reissue those with clear signs, monitor
    the rest (most exposed cards are never defrauded).

    >>> r = TriageRow("c1", "u1", 100.0, 1, 0, 0, 0.0, 3)
    >>> from datetime import UTC
    >>> t = datetime(2013, 12, 1, tzinfo=UTC)
    >>> s = Suspect("m1", "store", None, ("m1",), (), t, t, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)
    >>> reissue_plan([r], s)[0]["action"]
    'block_and_reissue'
    """
    from cardwatch.breach.response import ResponsePolicy, classify  # response imports us

    policy = ResponsePolicy()
    plan = []
    for rank, r in enumerate(rows, start=1):
        plan.append(
            {
                "rank": rank,
                "card_id": r.card_id,
                "customer_id": r.customer_id,
                "action": classify(r.fraud_reported, r.magstripe_abroad, r.risk, policy),
                "risk": round(r.risk, 2),
                "fraud_reported": r.fraud_reported,
                "magstripe_abroad": r.magstripe_abroad,
                "card_not_present": r.card_not_present,
                "breach": suspect.merchant_id,
                "stores": stores if stores is not None else len(suspect.merchant_ids),
                "window_start": suspect.window_start.isoformat(),
                "window_end": suspect.window_end.isoformat(),
            }
        )
    return plan
