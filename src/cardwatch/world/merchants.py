"""Build the merchant catalogue: local shops in every city, chain stores with many tills,
a transit operator and an ATM network per home city, and websites at home and abroad.

Everything is held as parallel NumPy arrays indexed by merchant number, plus the few lookup
tables the spending generator needs to pick a merchant for millions of rows at once (a store of
a given chain in a given city, a weighted website of a given group, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardwatch.world.catalogue import CHAINS, LOCAL_CATEGORIES, SURNAMES, WEBSITES
from cardwatch.world.geography import Cities

__all__ = ["ATM", "CP", "ECOM", "Group", "Merchants", "build_merchants"]

# Channel codes: index into cardwatch.schema.CHANNELS.
CP, ECOM, MOTO, ATM = 0, 1, 2, 3


@dataclass(frozen=True)
class Group:
    """Merchants to choose from with weights, and the amounts typical of this use of them."""

    merchant: np.ndarray  # int32 merchant numbers
    cum_weight: np.ndarray  # cumulative weights, last = total
    median: np.ndarray  # per member, EUR
    sigma: np.ndarray

    def pick(self, u: np.ndarray) -> np.ndarray:
        """Member positions for uniforms ``u`` in [0, 1)."""
        return np.searchsorted(self.cum_weight, u * self.cum_weight[-1], side="right")


@dataclass(frozen=True)
class Segments:
    """Merchants grouped by a key (a city, a chain-and-city pair), as offsets into ``members``."""

    members: np.ndarray  # int32 merchant numbers sorted by key
    start: np.ndarray  # per key
    count: np.ndarray  # per key
    cum_weight: np.ndarray  # cumulative weights along members (for weighted picks)

    def uniform(self, key: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A member of each ``key``'s segment, uniformly; -1 where the segment is empty."""
        cnt = self.count[key]
        pos = self.start[key] + np.minimum((u * cnt).astype(np.int64), np.maximum(cnt - 1, 0))
        return np.where(cnt > 0, self.members[np.minimum(pos, len(self.members) - 1)], -1)

    def weighted(self, key: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A member of each ``key``'s segment with the segment's weights; -1 where empty."""
        start, cnt = self.start[key], self.count[key]
        cw = np.concatenate([[0.0], self.cum_weight])
        lo, hi = cw[start], cw[start + cnt]
        pos = np.searchsorted(self.cum_weight, lo + u * (hi - lo), side="right")
        pos = np.clip(pos, start, np.maximum(start + cnt - 1, start))
        return np.where(cnt > 0, self.members[np.minimum(pos, len(self.members) - 1)], -1)


def _segments(keys: np.ndarray, n_keys: int, members: np.ndarray, weight: np.ndarray) -> Segments:
    order = np.argsort(keys, kind="stable")
    count = np.bincount(keys, minlength=n_keys)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return Segments(members[order].astype(np.int32), start, count, np.cumsum(weight[order]))


@dataclass(frozen=True)
class Merchants:
    """The catalogue; ``terminal_start[m] .. + n_terminals[m]`` are merchant m's terminals."""

    name: np.ndarray  # object (str)
    chain: np.ndarray  # object (str, "" when independent)
    mcc: np.ndarray  # object (str)
    country: np.ndarray  # object (str)
    city: np.ndarray  # int16, -1 for websites
    lat: np.ndarray  # float64, NaN for websites
    lon: np.ndarray
    channel: np.ndarray  # int8 channel code
    median: np.ndarray  # typical amount at a store (websites: see Group)
    sigma: np.ndarray
    terminal_start: np.ndarray  # int64
    n_terminals: np.ndarray  # int32
    local_home: Segments  # independent shops per city, weighted for residents
    local_travel: Segments  # the same, weighted for visitors
    counterfeit: Segments  # shops and ATMs per city where counterfeit cards are cashed out
    chain_city: Segments  # stores per (chain number * n_cities + city)
    transit: np.ndarray  # per city, merchant number or -1
    atm: np.ndarray  # per city, merchant number or -1
    groups: dict[str, Group]
    chain_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.name)

    @property
    def n_terminal_total(self) -> int:
        return int(self.terminal_start[-1] + self.n_terminals[-1])

    def ids(self) -> list[str]:
        return [f"M{i:07d}" for i in range(len(self))]


class _Builder:
    def __init__(self) -> None:
        self.cols: dict[str, list[object]] = {
            k: []
            for k in ("name", "chain", "mcc", "country", "city", "lat", "lon", "channel",
                      "median", "sigma", "n_terminals", "home_w", "travel_w", "fraud")
        }  # fmt: skip

    def add(self, **row: object) -> int:
        for k, col in self.cols.items():
            col.append(row.get(k, 0.0 if k in ("home_w", "travel_w") else None))
        return len(self.cols["name"]) - 1

    def array(self, key: str, dtype: type | str) -> np.ndarray:
        return np.array(self.cols[key], dtype=dtype)


def build_merchants(cities: Cities, n_cards: int, rng: np.random.Generator) -> Merchants:
    """The merchant catalogue for a portfolio of ``n_cards`` cards (shops scale with cards)."""
    b = _Builder()
    n_cities = len(cities)
    home = cities.home_weight / cities.home_weight.sum()
    french = np.flatnonzero(cities.country == "FR")
    scale = n_cards / 10_000
    # Independent shops: residents' cities get about one per six cards, others a fixed stock.
    for c in range(n_cities):
        n_shops = max(40, round(home[c] * n_cards / 6)) if home[c] > 0 else 60
        cats = rng.choice(len(LOCAL_CATEGORIES), size=n_shops)
        spread = 0.02 + 0.04 * np.sqrt(home[c] / home.max())
        fr = cities.country[c] == "FR"
        for cat in cats:
            lc = LOCAL_CATEGORIES[cat]
            label = lc.label_fr if fr else lc.label_en
            b.add(
                name=f"{label} {SURNAMES[rng.integers(len(SURNAMES))]}",
                chain="", mcc=lc.mcc, country=cities.country[c], city=c,
                lat=cities.lat[c] + rng.normal(0, spread),
                lon=cities.lon[c] + rng.normal(0, spread),
                channel=CP, median=lc.median, sigma=lc.sigma,
                n_terminals=int(rng.integers(1, 3)), home_w=lc.home_weight,
                travel_w=lc.travel_weight, fraud=lc.counterfeit_target,
            )  # fmt: skip
    # Chains: every French city has a store; bigger cities get more.
    chain_of: list[int] = []
    chain_store_city: list[int] = []
    for k, ch in enumerate(CHAINS):
        n_stores = max(len(french), round(ch.stores_per_10k_cards * scale))
        extra = rng.multinomial(n_stores - len(french), home[french] / home[french].sum())
        for c, n in zip(french, 1 + extra, strict=True):
            spread = 0.02 + 0.05 * np.sqrt(home[c] / home.max())
            for _ in range(n):
                b.add(
                    name=ch.name, chain=ch.name, mcc=ch.mcc, country="FR", city=c,
                    lat=cities.lat[c] + rng.normal(0, spread),
                    lon=cities.lon[c] + rng.normal(0, spread), channel=CP,
                    median=ch.median, sigma=ch.sigma,
                    n_terminals=int(rng.integers(ch.terminals[0], ch.terminals[1] + 1)),
                )  # fmt: skip
                chain_of.append(k)
                chain_store_city.append(c)
    first_store = len(b.cols["name"]) - len(chain_of)
    transit = np.full(n_cities, -1, dtype=np.int32)
    atm = np.full(n_cities, -1, dtype=np.int32)
    for c in range(n_cities):
        fr = cities.country[c] == "FR"
        gates = max(4, round(home[c] * n_cards / 40))
        if home[c] > 0:
            transit[c] = b.add(
                name=f"{'Transports' if fr else 'Transit'} {cities.name[c]}", chain="",
                mcc="4111", country=cities.country[c], city=c, lat=cities.lat[c],
                lon=cities.lon[c], channel=CP, median=2.0, sigma=0.1, n_terminals=gates,
            )  # fmt: skip
        atm[c] = b.add(
            name=f"{'DAB' if fr else 'ATM'} {cities.name[c]}", chain="", mcc="6011",
            country=cities.country[c], city=c, lat=cities.lat[c], lon=cities.lon[c],
            channel=ATM, median=60.0, sigma=0.5, n_terminals=max(4, gates // 2), fraud=True,
        )  # fmt: skip
    site_index: dict[str, int] = {}
    for w in WEBSITES:
        if w.name not in site_index:
            site_index[w.name] = b.add(
                name=w.name, chain="", mcc=w.mcc, country=w.country, city=-1,
                lat=np.nan, lon=np.nan, channel=ECOM, median=w.median, sigma=w.sigma,
                n_terminals=1,
            )  # fmt: skip
    groups: dict[str, Group] = {}
    for g in dict.fromkeys(w.group for w in WEBSITES):
        sites = [w for w in WEBSITES if w.group == g]
        groups[g] = Group(
            merchant=np.array([site_index[w.name] for w in sites], dtype=np.int32),
            cum_weight=np.cumsum([w.weight for w in sites]),
            median=np.array([w.median for w in sites]),
            sigma=np.array([w.sigma for w in sites]),
        )
    n_terminals = b.array("n_terminals", np.int32)
    city = b.array("city", np.int16)
    all_m = np.arange(len(city), dtype=np.int32)
    local = np.flatnonzero(b.array("chain", object) == "")
    local = local[(city[local] >= 0) & (b.array("channel", np.int8)[local] == CP)]
    local = local[local < first_store]
    fraud_cp = np.flatnonzero(b.array("fraud", object) == True)  # noqa: E712
    store_keys = np.array(chain_of) * n_cities + np.array(chain_store_city)
    stores = np.arange(first_store, first_store + len(chain_of))
    return Merchants(
        name=b.array("name", object),
        chain=b.array("chain", object),
        mcc=b.array("mcc", object),
        country=b.array("country", object),
        city=city,
        lat=b.array("lat", np.float64),
        lon=b.array("lon", np.float64),
        channel=b.array("channel", np.int8),
        median=b.array("median", np.float64),
        sigma=b.array("sigma", np.float64),
        terminal_start=np.concatenate([[0], np.cumsum(n_terminals)[:-1]]).astype(np.int64),
        n_terminals=n_terminals,
        local_home=_segments(city[local], n_cities, all_m[local], b.array("home_w", float)[local]),
        local_travel=_segments(
            city[local], n_cities, all_m[local], b.array("travel_w", float)[local]
        ),
        counterfeit=_segments(city[fraud_cp], n_cities, fraud_cp, np.ones(len(fraud_cp))),
        chain_city=_segments(
            store_keys, len(CHAINS) * n_cities, stores, np.ones(len(stores), dtype=float)
        ),
        transit=transit,
        atm=atm,
        groups=groups,
        chain_names=tuple(ch.name for ch in CHAINS),
    )
