"""Payments that are planned rather than spontaneous: monthly subscriptions charged with the card
on file (streaming, telecoms, and the American web hosts and software a website owner renews),
and the flights and hotels booked online before a trip.

These are the honest cross-border, card-not-present payments that a blunt rule would decline.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from cardwatch.world.cardholders import Cardholders
from cardwatch.world.catalogue import SCENARIOS, SUBSCRIPTIONS
from cardwatch.world.geography import Cities
from cardwatch.world.merchants import ECOM, MOTO, Merchants
from cardwatch.world.rows import ENTRY, Rows
from cardwatch.world.timing import to_utc

__all__ = ["booking_rows", "month_starts", "subscription_rows"]

_LONG_HAUL = ("US", "CA", "TH", "JP", "MX", "BR", "MY", "ID", "PH", "NG")


def month_starts(start: date, days: int) -> np.ndarray:
    """Day numbers (relative to ``start``, possibly negative) of each month's first day.

    >>> month_starts(date(2025, 10, 13), 30).tolist()
    [-12, 19]
    """
    out = []
    y, m = start.year, start.month
    while True:
        d = (date(y, m, 1) - start).days
        if d >= days:
            return np.array(out, dtype=np.int64)
        out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _site(merchants: Merchants, name: str) -> int:
    return int(np.flatnonzero((merchants.name == name) & (merchants.channel == ECOM))[0])


def subscription_rows(
    holders: Cardholders,
    merchants: Merchants,
    cities: Cities,
    start: date,
    days: int,
    epoch0: int,
    offsets: np.ndarray,
    rng: np.random.Generator,
) -> Rows:
    """Monthly charges, same amount and day of month, billed at night in the holder's zone."""
    n = len(holders)
    per_card = rng.poisson(np.where(holders.web_pro, 1.8, 0.6))
    sub_card = np.repeat(np.arange(n, dtype=np.int32), per_card)
    w = np.array([[s.weight for s in SUBSCRIPTIONS], [s.pro_weight for s in SUBSCRIPTIONS]])
    cw = np.cumsum(w, axis=1)
    cw /= cw[:, -1:]
    which = np.searchsorted(cw[0], rng.random(len(sub_card)), side="right")
    pro_pick = np.searchsorted(cw[1], rng.random(len(sub_card)), side="right")
    which = np.where(holders.web_pro[sub_card], pro_pick, which)
    # One subscription per (card, service): duplicates collapse.
    key = np.unique(sub_card.astype(np.int64) * len(SUBSCRIPTIONS) + which)
    sub_card = (key // len(SUBSCRIPTIONS)).astype(np.int32)
    which = (key % len(SUBSCRIPTIONS)).astype(np.int64)
    dom = rng.integers(0, 28, len(key))
    months = month_starts(start, days)
    card = np.repeat(sub_card, len(months))
    service = np.repeat(which, len(months))
    day = np.repeat(dom, len(months)) + np.tile(months, len(key))
    keep = (day >= 0) & (day < days)
    card, service, day = card[keep], service[keep], day[keep]
    site = np.array([_site(merchants, s.website) for s in SUBSCRIPTIONS], dtype=np.int32)
    price = np.array([s.amount for s in SUBSCRIPTIONS])
    merchant = site[service]
    seconds = rng.integers(1 * 3600, 7 * 3600, len(card))
    ts = to_utc(epoch0, day, seconds, cities.tz_index[holders.home_city[card]], offsets)
    return Rows(
        card=card,
        ts=ts,
        amount=price[service],
        merchant=merchant,
        terminal=merchants.terminal_start[merchant].astype(np.int32),
        channel=np.full(len(card), ECOM, dtype=np.int8),
        entry=np.full(len(card), ENTRY["credential_on_file"], dtype=np.int8),
        scenario=np.zeros(len(card), dtype=np.int8),
    )


def booking_rows(
    holders: Cardholders,
    merchants: Merchants,
    cities: Cities,
    epoch0: int,
    offsets: np.ndarray,
    rng: np.random.Generator,
) -> Rows:
    """A flight and a hotel booked online some weeks before each trip (a few by phone)."""
    trav = np.flatnonzero(holders.trip_city >= 0).astype(np.int32)
    dest = holders.trip_city[trav]
    nights = holders.trip_end[trav] - holders.trip_start[trav]
    long_haul = np.isin(cities.country[dest], _LONG_HAUL)
    airline = np.where(
        long_haul,
        _site(merchants, "Transatlantic Air"),
        np.where(rng.random(len(trav)) < 0.5, _site(merchants, "EuroJet"),
                 _site(merchants, "Air Hexagone")),
    )  # fmt: skip
    hotel = np.where(
        rng.random(len(trav)) < 0.65, _site(merchants, "StayBooker"), _site(merchants, "HotelRooms")
    )
    fare = np.where(long_haul, 650.0, 120.0) * rng.lognormal(0, 0.35, len(trav))
    room = 85.0 * nights * rng.lognormal(0, 0.35, len(trav))
    card = np.concatenate([trav, trav])
    merchant = np.concatenate([airline, hotel]).astype(np.int32)
    amount = np.round(np.concatenate([fare, room]) * np.concatenate([holders.spend[trav]] * 2), 2)
    lead = rng.integers(3, 50, len(card))
    day = np.concatenate([holders.trip_start[trav]] * 2) - lead
    keep = day >= 0
    card, merchant, amount, day = card[keep], merchant[keep], amount[keep], day[keep]
    seconds = rng.integers(8 * 3600, 23 * 3600, len(card))
    ts = to_utc(epoch0, day, seconds, cities.tz_index[holders.home_city[card]], offsets)
    by_phone = rng.random(len(card)) < 0.08
    return Rows(
        card=card,
        ts=ts,
        amount=np.maximum(amount, 1.0),
        merchant=merchant,
        terminal=merchants.terminal_start[merchant].astype(np.int32),
        channel=np.where(by_phone, MOTO, ECOM).astype(np.int8),
        entry=np.where(by_phone, ENTRY["manual"], ENTRY["ecommerce"]).astype(np.int8),
        scenario=np.full(len(card), SCENARIOS.index(""), dtype=np.int8),
    )
