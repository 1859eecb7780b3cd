"""Preset ``default``: a French issuer's portfolio with a chain breach and background fraud.

``simulate(config)`` is a pure function of its config (seed included): same config, same tables,
byte for byte. Each stage draws from its own random stream, so changing a fraud knob does not
change the honest spending it is injected into.
"""

from __future__ import annotations

import calendar

import numpy as np
import pyarrow as pa

from cardwatch.world.assemble import ids, transactions_table
from cardwatch.world.cardholders import Cardholders, build_cardholders
from cardwatch.world.compromise import inject_compromises
from cardwatch.world.config import WorldConfig
from cardwatch.world.fraudkit import Clock, Victims
from cardwatch.world.geography import CITIES, utc_offsets
from cardwatch.world.incidents import inject_incidents
from cardwatch.world.labels import Labels, settle
from cardwatch.world.merchants import Merchants, build_merchants
from cardwatch.world.recurring import booking_rows, subscription_rows
from cardwatch.world.result import Step, World
from cardwatch.world.rows import Rows
from cardwatch.world.spending import daily_counts, honest_rows
from cardwatch.world.timing import day_factors
from cardwatch.world.truth import build_truth

__all__ = ["STAGES", "simulate"]

#: Stage names reported to ``on_step``, in order.
STAGES = ("merchants", "cardholders", "spending", "frauds", "labels", "tables")
_STREAMS = ("merchants", "cardholders", "counts", "spending", "subscriptions", "bookings",
            "compromises", "incidents", "labels")  # fmt: skip


def _rng(config: WorldConfig, stream: str) -> np.random.Generator:
    return np.random.default_rng([config.seed, _STREAMS.index(stream)])


def _cards_table(holders: Cardholders, labels: Labels, card_ids: pa.Array,
                 customer_ids: pa.Array) -> pa.Table:  # fmt: skip
    old = labels.replaced
    src = np.concatenate([np.arange(len(holders)), old]).astype(np.int64)
    n_all = len(src)
    replaces = np.full(n_all, -1, np.int64)
    replaces[len(holders) :] = old
    issued = np.full(n_all, -1, np.int64)
    issued[len(holders) :] = labels.replaced_at
    blocked = np.full(n_all, -1, np.int64)
    blocked[old] = labels.replaced_at
    cities = np.array(CITIES.name, dtype=object)
    micros = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "card_id": card_ids,
            "customer_id": customer_ids.take(pa.array(holders.customer[src])),
            "home_country": pa.array(CITIES.country[holders.home_city[src]].tolist()),
            "home_lat": pa.array(holders.home_lat[src]),
            "home_lon": pa.array(holders.home_lon[src]),
            "home_city": pa.array(cities[holders.home_city[src]].tolist()),
            "web_pro": pa.array(holders.web_pro[src]),
            "traveller": pa.array(holders.trip_city[src] >= 0),
            "replaces": card_ids.take(pa.array(np.maximum(replaces, 0), mask=replaces < 0)),
            "issued_at": pa.array(issued * 1_000_000, type=micros, mask=issued < 0),
            "blocked_at": pa.array(blocked * 1_000_000, type=micros, mask=blocked < 0),
        }
    )


def _merchants_table(m: Merchants, merchant_ids: pa.Array, terminal_ids: pa.Array) -> pa.Table:
    t = terminal_ids.to_pylist()
    joined = [
        ";".join(t[s : s + k]) for s, k in zip(m.terminal_start.tolist(), m.n_terminals.tolist(),
                                               strict=True)
    ]  # fmt: skip
    city = [CITIES.name[c] if c >= 0 else None for c in m.city.tolist()]
    channel = np.array(["card_present", "ecommerce", "moto", "atm"], dtype=object)[m.channel]
    return pa.table(
        {
            "merchant_id": merchant_ids,
            "name": pa.array(m.name.tolist()),
            "chain": pa.array(m.chain.tolist()),
            "mcc": pa.array(m.mcc.tolist()),
            "country": pa.array(m.country.tolist()),
            "city": pa.array(city, type=pa.string()),
            "lat": pa.array(m.lat, mask=np.isnan(m.lat)),
            "lon": pa.array(m.lon, mask=np.isnan(m.lon)),
            "channel": pa.array(channel.tolist()),
            "terminals": pa.array(m.n_terminals),
            "terminal_ids": pa.array(joined),
        }
    )


def simulate(config: WorldConfig | None = None, on_step: Step | None = None) -> World:
    """Simulate the ``default`` world.

    >>> w = simulate(WorldConfig(cards=200).resized(days=30))
    >>> w.transactions.num_rows > 3000, w.truth["breaches"][0]["chain"]
    (True, 'Grand Bazar')
    """
    config = config or WorldConfig()
    step = on_step or (lambda _: None)
    epoch0 = calendar.timegm(config.start.timetuple())
    offsets = utc_offsets(CITIES.zones, config.start, config.days)
    clock = Clock(epoch0, config.days, offsets)

    step("merchants")
    merchants = build_merchants(CITIES, config.cards, _rng(config, "merchants"))
    step("cardholders")
    holders = build_cardholders(config, CITIES, merchants, _rng(config, "cardholders"))
    step("spending")
    factor, weekend = day_factors(config.start, config.days)
    counts = daily_counts(holders, factor, weekend, _rng(config, "counts"))
    everyday = honest_rows(holders, merchants, CITIES, counts, weekend, epoch0, offsets,
                           _rng(config, "spending"))  # fmt: skip
    del counts
    subs = subscription_rows(holders, merchants, CITIES, config.start, config.days, epoch0,
                             offsets, _rng(config, "subscriptions"))  # fmt: skip
    books = booking_rows(holders, merchants, CITIES, epoch0, offsets, _rng(config, "bookings"))
    honest = Rows.concat([everyday, subs, books])
    del everyday
    honest = honest.take((honest.ts >= epoch0) & (honest.ts < clock.end))

    step("frauds")
    used = np.zeros(len(holders), dtype=bool)
    comps, comp_rows, comp_victims = inject_compromises(
        honest, config, merchants, CITIES, clock, used, _rng(config, "compromises")
    )
    inc_rows, inc_victims = inject_incidents(
        config, holders, merchants, clock, used, _rng(config, "incidents")
    )
    fraud = Rows.concat([comp_rows, inc_rows])
    fraud = fraud.take(fraud.ts < clock.end)

    step("labels")
    labels = settle(honest, fraud, Victims.concat([comp_victims, inc_victims]), len(holders),
                    _rng(config, "labels"))  # fmt: skip
    del honest, fraud

    step("tables")
    n_cards = len(holders) + len(labels.replaced)
    card_ids = ids("c", n_cards, 7)
    customer_ids = ids("u", holders.n_customers, 7)
    merchant_ids = ids("M", len(merchants), 7)
    terminal_ids = ids("T", merchants.n_terminal_total, 7)
    customer_of = np.concatenate([holders.customer, holders.customer[labels.replaced]])
    merchant_cols = {
        "name": pa.array(merchants.name.tolist()),
        "mcc": pa.array(merchants.mcc.tolist()),
        "country": pa.array(merchants.country.tolist()),
        "lat": pa.array(merchants.lat, mask=np.isnan(merchants.lat)),
        "lon": pa.array(merchants.lon, mask=np.isnan(merchants.lon)),
    }
    r = labels.rows
    table = transactions_table(
        card=r.card, ts=r.ts, amount=r.amount, merchant=r.merchant, terminal=r.terminal,
        channel=r.channel, entry=r.entry, scenario=r.scenario, is_fraud=labels.is_fraud,
        reported_at=labels.reported_at, card_ids="c", customer_of_card=customer_of,
        customer_ids="u", merchant_ids="M", merchant_cols=merchant_cols, terminal_ids="T",
    )  # fmt: skip
    header = {
        "preset": "default",
        "seed": config.seed,
        "config": config.to_dict(),
        "period": {"start": config.start.isoformat(), "days": config.days},
    }
    lookup = {"card": card_ids, "merchant": merchant_ids, "terminal": terminal_ids,
              "merchant_country": merchant_cols["country"]}  # fmt: skip
    truth = build_truth(comps, labels, lookup, header)
    truth["stats"].update(
        cards=len(holders), customers=holders.n_customers, merchants=len(merchants),
        terminals=merchants.n_terminal_total,
    )  # fmt: skip
    return World(
        transactions=table,
        cards=_cards_table(holders, labels, card_ids, customer_ids),
        merchants=_merchants_table(merchants, merchant_ids, terminal_ids),
        truth=truth,
    )
