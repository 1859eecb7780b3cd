"""Cardholders and their cards: where they live, how much and how often they spend, their
favourite shops, their habits over the day and the week, and whether they travel.

Each card carries its own mix of spending activities (a Dirichlet draw around the portfolio's
average) so that no two cards look alike; a fifth of the cards belong to people who run a website
or a small business and pay foreign web services routinely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardwatch.world.catalogue import CHAINS, KINDS
from cardwatch.world.config import WorldConfig
from cardwatch.world.geography import Cities
from cardwatch.world.merchants import Merchants

__all__ = ["FAVOURITES", "Cardholders", "build_cardholders"]

FAVOURITES = 10
# Average share of each spending activity (KINDS order), before per-card variation.
_KIND_MEAN = np.array([0.27, 0.10, 0.07, 0.27, 0.13, 0.10, 0.012, 0.04])
_KIND_CONCENTRATION = 12.0


@dataclass(frozen=True)
class Cardholders:
    """Per-card arrays (index = card number); ``customer`` maps cards to their holder."""

    customer: np.ndarray  # int32
    n_customers: int
    home_city: np.ndarray  # int16
    home_lat: np.ndarray
    home_lon: np.ndarray
    rate: np.ndarray  # expected transactions per ordinary day
    spend: np.ndarray  # multiplier on amounts
    weekend: np.ndarray  # multiplier on Saturday and Sunday rates
    hour_shift: np.ndarray  # int8, early birds < 0 < night owls
    contactless: np.ndarray  # propensity to tap when allowed
    kind_cum: np.ndarray  # (cards, len(KINDS)) cumulative activity probabilities, float32
    favourites: np.ndarray  # (cards, FAVOURITES) local shops, int32
    grocery_store: np.ndarray  # the store they usually shop at, -1 if none
    grocery_chain: np.ndarray  # int8 chain number
    fuel_chain: np.ndarray  # int8 chain number
    web_pro: np.ndarray  # bool
    trip_start: np.ndarray  # day, or a large number when not travelling
    trip_end: np.ndarray  # exclusive day
    trip_city: np.ndarray  # int16, -1 when not travelling

    def __len__(self) -> int:
        return len(self.customer)


def _customers(n_cards: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Card → customer: most customers hold one card, some two or three."""
    per_customer = rng.choice([1, 2, 3], size=n_cards, p=[0.8, 0.15, 0.05])
    customer = np.repeat(np.arange(n_cards, dtype=np.int32), per_customer)[:n_cards]
    return customer, int(customer[-1]) + 1


def _chain_pick(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    ks = [k for k, ch in enumerate(CHAINS) if ch.kind == kind]
    w = np.array([CHAINS[k].weight for k in ks])
    return np.array(ks, dtype=np.int8)[rng.choice(len(ks), size=n, p=w / w.sum())]


def build_cardholders(
    config: WorldConfig, cities: Cities, merchants: Merchants, rng: np.random.Generator
) -> Cardholders:
    """Draw the portfolio's cards; cards of one customer share a home."""
    n = config.cards
    customer, n_customers = _customers(n, rng)
    french = cities.country == "FR"
    w_fr = np.where(french, cities.home_weight, 0.0)
    w_ab = np.where(~french, cities.home_weight, 0.0)
    abroad = rng.random(n_customers) < config.abroad_share
    cust_city = np.where(
        abroad,
        rng.choice(len(cities), size=n_customers, p=w_ab / w_ab.sum()),
        rng.choice(len(cities), size=n_customers, p=w_fr / w_fr.sum()),
    ).astype(np.int16)
    spread = 0.02 + 0.05 * np.sqrt(cities.home_weight / cities.home_weight.max())
    cust_lat = cities.lat[cust_city] + rng.normal(0, 1, n_customers) * spread[cust_city]
    cust_lon = cities.lon[cust_city] + rng.normal(0, 1, n_customers) * spread[cust_city]
    home_city = cust_city[customer]

    rate = config.tx_per_card_day * rng.lognormal(-0.18, 0.6, n)
    spend = rng.lognormal(0.0, 0.35, n)
    weekend = rng.lognormal(0.0, 0.25, n)
    shifts = np.array([-2, -1, 0, 1, 2], dtype=np.int8)
    hour_shift = rng.choice(shifts, n, p=[0.07, 0.2, 0.46, 0.2, 0.07])
    contactless = rng.beta(4, 1.5, n)

    web_pro = rng.random(n) < config.web_pro_share
    mean = np.tile(_KIND_MEAN, (n, 1))
    mean[web_pro, KINDS.index("web_foreign")] = 0.07
    mean[home_city == cities.name.index("Paris"), KINDS.index("transit")] *= 2.0  # the metro
    mean /= mean.sum(axis=1, keepdims=True)
    probs = rng.gamma(mean * _KIND_CONCENTRATION)
    probs /= probs.sum(axis=1, keepdims=True)
    kind_cum = np.cumsum(probs, axis=1).astype(np.float32)
    kind_cum[:, -1] = 1.0

    fav = merchants.local_home.weighted(
        np.repeat(home_city, FAVOURITES), rng.random(n * FAVOURITES)
    ).reshape(n, FAVOURITES)
    grocery_chain = _chain_pick("grocery", n, rng)
    fuel_chain = _chain_pick("fuel", n, rng)
    key = grocery_chain.astype(np.int64) * len(cities) + home_city
    grocery_store = merchants.chain_city.uniform(key, rng.random(n))

    travels = rng.random(n) < config.traveller_share
    trip_len = rng.integers(2, 15, n)
    trip_start = rng.integers(0, max(1, config.days - 2), n)
    trip_city = rng.choice(len(cities), size=n, p=cities.travel_weight / cities.travel_weight.sum())
    trip_city = np.where(travels & (trip_city != home_city), trip_city, -1).astype(np.int16)
    no_trip = trip_city < 0
    return Cardholders(
        customer=customer,
        n_customers=n_customers,
        home_city=home_city,
        home_lat=cust_lat[customer],
        home_lon=cust_lon[customer],
        rate=rate,
        spend=spend,
        weekend=weekend,
        hour_shift=hour_shift,
        contactless=contactless,
        kind_cum=kind_cum,
        favourites=fav.astype(np.int32),
        grocery_store=grocery_store.astype(np.int32),
        grocery_chain=grocery_chain,
        fuel_chain=fuel_chain,
        web_pro=web_pro,
        trip_start=np.where(no_trip, np.iinfo(np.int32).max, trip_start).astype(np.int32),
        trip_end=np.where(no_trip, np.iinfo(np.int32).max, trip_start + trip_len).astype(np.int32),
        trip_city=trip_city,
    )
