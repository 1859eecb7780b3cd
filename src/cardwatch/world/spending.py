"""Honest everyday spending, generated for every card at once.

Per card and day a Poisson count (the card's rate × weekday × season); ``np.repeat`` turns the
counts into rows; each row draws an activity from its card's mix, a merchant for that activity
(the usual supermarket, a favourite café, a chain store in town, a website, or a shop at the
travel destination), a terminal, a local hour, an amount and an entry mode — all vectorised.
"""

from __future__ import annotations

import numpy as np

from cardwatch.world.cardholders import FAVOURITES, Cardholders
from cardwatch.world.catalogue import CHAINS, KINDS, SCENARIOS
from cardwatch.world.geography import Cities
from cardwatch.world.merchants import ATM, CP, ECOM, Merchants
from cardwatch.world.rows import ENTRY, Rows
from cardwatch.world.timing import sample_hours, to_utc

__all__ = ["cp_entry_modes", "daily_counts", "honest_rows", "pick_terminals"]

_K = {k: i for i, k in enumerate(KINDS)}
_FAV_P = np.cumsum(1.0 / np.arange(1, FAVOURITES + 1) ** 0.9)
_FAV_P /= _FAV_P[-1]
_FARES = np.array([1.90, 2.15, 2.50, 17.35, 30.75])
_FARE_P = np.array([0.45, 0.3, 0.15, 0.07, 0.03])
_ATM_NOTES = np.array([20, 30, 40, 50, 60, 80, 100, 150, 200])
_ATM_P = np.array([0.16, 0.06, 0.16, 0.18, 0.1, 0.1, 0.14, 0.05, 0.05])


def daily_counts(
    holders: Cardholders, factor: np.ndarray, weekend: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Transactions per (card, day): Poisson around the card's rate, busier on weekends for
    cards whose weekend factor is high."""
    lam = holders.rate[:, None] * factor[None, :]
    lam = np.where(weekend[None, :], lam * holders.weekend[:, None], lam)
    return rng.poisson(lam).astype(np.int32)


def pick_terminals(merchants: Merchants, merchant: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A terminal of each row's merchant, uniformly (any till of the store)."""
    n = merchants.n_terminals[merchant]
    return (merchants.terminal_start[merchant] + (u * n).astype(np.int64)).astype(np.int32)


def cp_entry_modes(
    amount: np.ndarray, us: np.ndarray, tap: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Chip, contactless up to 50 EUR for those who tap, some magstripe on American terminals."""
    u = rng.random(len(amount))
    entry = np.full(len(amount), ENTRY["chip"], dtype=np.int8)
    entry[(amount <= 50) & (u < tap)] = ENTRY["contactless"]
    entry[us & (u > 0.7)] = ENTRY["magstripe"]
    entry[u > 0.9995] = ENTRY["fallback"]
    return entry


def _chain_weights(kind: str) -> tuple[np.ndarray, np.ndarray]:
    ks = np.array([k for k, ch in enumerate(CHAINS) if ch.kind == kind])
    w = np.cumsum([CHAINS[k].weight for k in ks])
    return ks, w / w[-1]


def honest_rows(
    holders: Cardholders,
    merchants: Merchants,
    cities: Cities,
    counts: np.ndarray,
    weekend: np.ndarray,
    epoch0: int,
    offsets: np.ndarray,
    rng: np.random.Generator,
) -> Rows:
    """Everyday spending rows from the (card, day) ``counts``."""
    n_days = counts.shape[1]
    flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
    card = (flat // n_days).astype(np.int32)
    day = (flat % n_days).astype(np.int32)
    del flat
    n = len(card)
    n_cities = len(cities)

    u = rng.random(n, dtype=np.float32)
    kind = np.zeros(n, dtype=np.int8)
    cum = holders.kind_cum
    for k in range(cum.shape[1] - 1):
        kind += u > cum[card, k]
    travelling = (day >= holders.trip_start[card]) & (day < holders.trip_end[card])
    home = holders.home_city[card]
    lives_abroad = (cities.country != "FR")[home]
    web = (kind == _K["web_domestic"]) | (kind == _K["web_foreign"])
    chainless = lives_abroad & np.isin(kind, [_K["grocery"], _K["fuel"], _K["retail"]])
    kind[chainless] = _K["local"]

    merchant = np.full(n, -1, dtype=np.int32)
    u1 = rng.random(n)
    u2 = rng.random(n)

    sel = np.flatnonzero(kind == _K["grocery"])
    usual = holders.grocery_store[card[sel]]
    other = merchants.chain_city.uniform(
        holders.grocery_chain[card[sel]].astype(np.int64) * n_cities + home[sel], u2[sel]
    )
    merchant[sel] = np.where((u1[sel] < 0.8) & (usual >= 0), usual, other)

    sel = np.flatnonzero(kind == _K["fuel"])
    key = holders.fuel_chain[card[sel]].astype(np.int64) * n_cities + home[sel]
    merchant[sel] = merchants.chain_city.uniform(key, u2[sel])

    sel = np.flatnonzero(kind == _K["retail"])
    ks, cw = _chain_weights("retail")
    chain = ks[np.searchsorted(cw, u1[sel], side="right")]
    merchant[sel] = merchants.chain_city.uniform(chain * n_cities + home[sel], u2[sel])

    sel = np.flatnonzero(kind == _K["local"])
    slot = np.searchsorted(_FAV_P, u1[sel] / 0.85, side="right")
    fav = holders.favourites[card[sel], np.minimum(slot, FAVOURITES - 1)]
    merchant[sel] = np.where(u1[sel] < 0.85, fav, merchants.local_home.weighted(home[sel], u2[sel]))

    sel = np.flatnonzero(kind == _K["transit"])
    merchant[sel] = merchants.transit[home[sel]]
    sel = np.flatnonzero(kind == _K["atm"])
    merchant[sel] = merchants.atm[home[sel]]

    amount = np.zeros(n)
    web_median = np.zeros(n)
    web_sigma = np.zeros(n)
    for name in ("web_domestic", "web_foreign"):
        sel = np.flatnonzero(kind == _K[name])
        g = merchants.groups[name]
        pos = g.pick(u1[sel])
        merchant[sel] = g.merchant[pos]
        web_median[sel] = g.median[pos]
        web_sigma[sel] = g.sigma[pos]

    # Abroad on a trip, card-present spending happens at the destination.
    sel = np.flatnonzero(travelling & ~web)
    dest = holders.trip_city[card[sel]]
    merchant[sel] = np.where(
        u1[sel] < 0.93, merchants.local_travel.weighted(dest, u2[sel]), merchants.atm[dest]
    )
    kind[sel[merchants.channel[merchant[sel]] == ATM]] = _K["atm"]
    kind[sel[merchants.channel[merchant[sel]] == CP]] = _K["local"]
    missing = merchant < 0  # no such store in that town: a favourite shop instead
    merchant[missing] = holders.favourites[card[missing], 0]
    del u, u1, u2

    z = rng.standard_normal(n)
    spend = holders.spend[card] ** 0.7
    channel = merchants.channel[merchant]
    is_web = channel == ECOM
    median = np.where(is_web, web_median, merchants.median[merchant])
    sigma = np.where(is_web, web_sigma, merchants.sigma[merchant])
    amount = median * spend * np.exp(sigma * z)
    transit = kind == _K["transit"]
    amount[transit] = rng.choice(_FARES, size=int(transit.sum()), p=_FARE_P)
    atm = channel == ATM
    amount[atm] = rng.choice(_ATM_NOTES, size=int(atm.sum()), p=_ATM_P) * np.maximum(
        1, np.round(holders.spend[card[atm]])
    )
    amount = np.maximum(np.round(amount, 2), 0.5)

    hour = sample_hours(kind, weekend[day], holders.hour_shift[card], rng)
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    tz_city = np.where(is_web, home, merchants.city[merchant])
    ts = to_utc(epoch0, day, seconds, cities.tz_index[tz_city], offsets)

    entry = np.full(n, ENTRY["ecommerce"], dtype=np.int8)
    cp = np.flatnonzero(channel == CP)
    us = (merchants.country == "US")[merchant[cp]]
    entry[cp] = cp_entry_modes(amount[cp], us, holders.contactless[card[cp]], rng)
    entry[atm] = ENTRY["chip"]
    terminal = pick_terminals(merchants, merchant, rng.random(n))
    return Rows(
        card=card,
        ts=ts,
        amount=amount,
        merchant=merchant,
        terminal=terminal,
        channel=channel,
        entry=entry,
        scenario=np.full(n, SCENARIOS.index(""), dtype=np.int8),
    )
