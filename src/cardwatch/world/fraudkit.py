"""The fraudsters' toolbox, shared by every scenario: sprees of transactions on a stolen card,
counterfeit card-present use in cash-out cities, and card-not-present spending online.

A breach's counterfeit frauds start in one country and spread: the further from the first fraud,
the more likely a card is used in a later cash-out city (``cities.cashout_order``), as stolen
card batches are resold around the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardwatch.world.geography import Cities
from cardwatch.world.merchants import ATM, ECOM, Merchants
from cardwatch.world.rows import ENTRY, Rows
from cardwatch.world.spending import pick_terminals

__all__ = ["Clock", "Victims", "cnp_rows", "counterfeit_rows", "spree"]


@dataclass(frozen=True)
class Clock:
    """The world's time frame: UTC seconds of day 0, the number of days, local offsets."""

    epoch0: int
    days: int
    offsets: np.ndarray  # (zones, days) seconds to add to UTC

    @property
    def end(self) -> int:
        return self.epoch0 + self.days * 86_400

    def day(self, ts: np.ndarray) -> np.ndarray:
        return np.clip((ts - self.epoch0) // 86_400, 0, self.days - 1)


@dataclass
class Victims:
    """Cards hit by one injected scenario, and when the holder would notice it."""

    card: np.ndarray  # int32
    notice: np.ndarray  # int64 UTC seconds from which a report delay runs
    report_p: np.ndarray  # probability the holder ever reports
    fast: np.ndarray  # bool: the holder notices within hours (card missing from the wallet)
    blackout: np.ndarray  # int64: honest use stops from here until the report (-1: none)

    @classmethod
    def concat(cls, parts: list[Victims]) -> Victims:
        if not parts:
            z = np.zeros(0, np.int64)
            return cls(z.astype(np.int32), z, z.astype(float), z.astype(bool), z)
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts])
              for f in ("card", "notice", "report_p", "fast", "blackout"))
        )  # fmt: skip


def spree(
    t0: np.ndarray, mean_count: float, mean_gap_s: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each start time, ``1 + Poisson(mean_count - 1)`` events with exponential gaps.

    Returns (owner position in ``t0``, event time); the first event of each spree is at t0.

    >>> owner, ts = spree(np.array([100, 500]), 1.0, 60.0, np.random.default_rng(0))
    >>> owner.tolist(), ts.tolist()
    ([0, 1], [100, 500])
    """
    if len(t0) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = 1 + rng.poisson(max(mean_count - 1.0, 0.0), len(t0))
    owner = np.repeat(np.arange(len(t0)), k)
    gaps = rng.exponential(mean_gap_s, len(owner))
    first = np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int64)
    gaps[first] = 0.0
    cs = np.cumsum(gaps)
    return owner, t0[owner] + (cs - cs[first][owner]).astype(np.int64)


def _open_hours(ts: np.ndarray, zone: np.ndarray, clock: Clock, rng: np.random.Generator):
    """Move times that fall at night (local) to the next morning: shops are closed."""
    off = clock.offsets[zone, clock.day(ts)]
    sod = (ts + off) % 86_400
    late = np.where(sod >= 21 * 3600, 86_400 - sod + 10 * 3600, 0)
    early = np.where(sod < 10 * 3600, 10 * 3600 - sod, 0)
    bump = (late + early) > 0
    return ts + late + early + np.where(bump, rng.integers(0, 4 * 3600, len(ts)), 0)


def counterfeit_rows(
    card: np.ndarray,
    ts: np.ndarray,
    spread_from: int,
    atm_share: float,
    scenario: int,
    merchants: Merchants,
    cities: Cities,
    clock: Clock,
    rng: np.random.Generator,
) -> Rows:
    """Cloned magstripe cards used at shops and ATMs of cash-out cities.

    ``spread_from`` (UTC seconds) is when the scenario's frauds began: early frauds concentrate
    on the first cash-out city, later ones spread over more countries.
    """
    n = len(card)
    order = cities.cashout_order
    weeks = np.maximum(ts - spread_from, 0) / (7 * 86_400)
    rank = np.minimum(rng.exponential(0.6 + 1.2 * weeks).astype(np.int64), len(order) - 1)
    city = order[rank]
    shop = merchants.counterfeit.uniform(city, rng.random(n))
    use_atm = rng.random(n) < atm_share
    merchant = np.where(use_atm | (shop < 0), merchants.atm[city], shop).astype(np.int32)
    is_atm = merchants.channel[merchant] == ATM
    ts = np.where(is_atm, ts, _open_hours(ts, cities.tz_index[city], clock, rng))
    amount = merchants.median[merchant] * rng.lognormal(0.6, 0.5, n)
    amount = np.where(is_atm, np.round(rng.uniform(100, 500, n), -1), np.round(amount, 2))
    entry = np.where(rng.random(n) < 0.85, ENTRY["magstripe"], ENTRY["fallback"])
    return Rows(
        card=card.astype(np.int32),
        ts=ts.astype(np.int64),
        amount=amount,
        merchant=merchant,
        terminal=pick_terminals(merchants, merchant, rng.random(n)),
        channel=merchants.channel[merchant].copy(),
        entry=entry.astype(np.int8),
        scenario=np.full(n, scenario, dtype=np.int8),
    )


def cnp_rows(
    card: np.ndarray,
    ts: np.ndarray,
    group: str,
    scenario: int,
    merchants: Merchants,
    rng: np.random.Generator,
    amount_scale: float = 1.0,
) -> Rows:
    """Online purchases with stolen card details at the websites of ``group``."""
    n = len(card)
    g = merchants.groups[group]
    pos = g.pick(rng.random(n))
    merchant = g.merchant[pos]
    noise = np.exp(g.sigma[pos] * rng.standard_normal(n))
    amount = np.round(g.median[pos] * amount_scale * noise, 2)
    return Rows(
        card=card.astype(np.int32),
        ts=ts.astype(np.int64),
        amount=np.maximum(amount, 0.5),
        merchant=merchant,
        terminal=merchants.terminal_start[merchant].astype(np.int32),
        channel=np.full(n, ECOM, dtype=np.int8),
        entry=np.full(n, ENTRY["ecommerce"], dtype=np.int8),
        scenario=np.full(n, scenario, dtype=np.int8),
    )
