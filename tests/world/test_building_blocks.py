"""The pieces the generator is built from: lookups, catalogue, timing."""

from __future__ import annotations

from datetime import date

import numpy as np

from cardwatch.world.catalogue import CHAINS
from cardwatch.world.geography import CITIES, utc_offsets
from cardwatch.world.merchants import build_merchants
from cardwatch.world.timing import day_factors


def test_merchant_lookups_stay_inside_their_segment() -> None:
    m = build_merchants(CITIES, 2000, np.random.default_rng(0))
    n_cities = len(CITIES)
    city = np.repeat(np.arange(n_cities), 50)
    u = np.random.default_rng(1).random(len(city))
    for picked in (m.local_home.weighted(city, u), m.local_home.uniform(city, u)):
        assert (picked >= 0).all()
        assert (m.city[picked] == city).all()
        assert (m.chain[picked] == "").all()
    k = 3  # Grand Bazar
    assert CHAINS[k].name == "Grand Bazar"
    paris = CITIES.name.index("Paris")
    stores = m.chain_city.uniform(np.full(100, k * n_cities + paris), u[:100])
    assert (m.name[stores] == "Grand Bazar").all() and (m.city[stores] == paris).all()
    london = CITIES.name.index("London")
    assert m.chain_city.uniform(np.array([k * n_cities + london]), u[:1])[0] == -1


def test_every_chain_has_a_store_in_every_french_city() -> None:
    m = build_merchants(CITIES, 500, np.random.default_rng(0))
    french = set(np.flatnonzero(CITIES.country == "FR").tolist())
    for ch in CHAINS:
        stores = m.chain == ch.name
        assert set(m.city[stores].tolist()) == french
        assert (m.n_terminals[stores] >= ch.terminals[0]).all()


def test_terminals_are_numbered_contiguously() -> None:
    m = build_merchants(CITIES, 500, np.random.default_rng(0))
    assert m.terminal_start[0] == 0
    assert (np.diff(m.terminal_start) == m.n_terminals[:-1]).all()


def test_daylight_saving_and_weekends() -> None:
    off = utc_offsets(("Europe/Paris", "America/New_York"), date(2025, 10, 20), 20)
    assert off[0, 0] == 7200 and off[0, -1] == 3600
    assert off[1, 0] == -4 * 3600 and off[1, -1] == -5 * 3600
    factor, weekend = day_factors(date(2025, 10, 13), 7)
    assert weekend.tolist() == [False] * 5 + [True] * 2
    assert factor[5] > factor[0] > factor[6]
