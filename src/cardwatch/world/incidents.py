"""Fraud that has nothing to do with a breach: card testing, lost or stolen cards, phishing.

This is the background a breach detector must see through: its victims shopped at the breached
chain as often as anybody, so "they all went to Grand Bazar" is true of them too.
"""

from __future__ import annotations

import numpy as np

from cardwatch.world.cardholders import Cardholders
from cardwatch.world.catalogue import SCENARIOS
from cardwatch.world.config import WorldConfig
from cardwatch.world.fraudkit import Clock, Victims, cnp_rows, spree
from cardwatch.world.merchants import CP, Merchants
from cardwatch.world.rows import ENTRY, Rows
from cardwatch.world.spending import pick_terminals

__all__ = ["inject_incidents"]

_HOUR = 3600


def _draw_cards(rate_per_30d: float, config: WorldConfig, used: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    free = np.flatnonzero(~used)
    k = min(len(free), int(rng.binomial(len(used), min(1.0, rate_per_30d * config.days / 30))))
    cards = np.sort(rng.choice(free, size=k, replace=False)).astype(np.int32)
    used[cards] = True
    return cards


def _card_testing(config: WorldConfig, merchants: Merchants, clock: Clock, used: np.ndarray,
                  rng: np.random.Generator) -> tuple[Rows, Victims]:  # fmt: skip
    """A bot tries a few tiny online payments at one site; then, for most cards, the big ones."""
    f = config.fraud
    cards = _draw_cards(f.card_testing_rate, config, used, rng)
    t_test = clock.epoch0 + rng.integers(0, clock.days * 86_400 - 3 * 86_400, len(cards))
    owner, ts = spree(t_test, 4.0, 90.0, rng)
    g = merchants.groups["testing"]
    site = g.merchant[g.pick(rng.random(len(cards)))]
    tests = cnp_rows(cards[owner], ts, "testing", SCENARIOS.index("card_testing"), merchants, rng)
    tests.merchant = site[owner]
    tests.terminal = merchants.terminal_start[tests.merchant].astype(np.int32)
    cashes = rng.random(len(cards)) < f.testing_cashout_share
    t_cash = t_test + rng.exponential(1.5 * 86_400, len(cards)).astype(np.int64)
    c_owner, c_ts = spree(t_cash[cashes], 2.5, 2 * _HOUR, rng)
    cash = cnp_rows(cards[cashes][c_owner], c_ts, "fraud", SCENARIOS.index("card_testing"),
                    merchants, rng)  # fmt: skip
    victims = Victims(
        cards, np.where(cashes, t_cash, t_test), np.where(cashes, f.report_share, 0.0),
        np.zeros(len(cards), bool), np.full(len(cards), -1, np.int64),
    )  # fmt: skip
    return Rows.concat([tests, cash]), victims


def _lost_stolen(config: WorldConfig, holders: Cardholders, merchants: Merchants, clock: Clock,
                 used: np.ndarray, rng: np.random.Generator) -> tuple[Rows, Victims]:  # fmt: skip
    """A thief taps the card for a few quick purchases near the holder's home, under the
    contactless limit, before the holder notices the card is gone."""
    cards = _draw_cards(config.fraud.lost_stolen_rate, config, used, rng)
    day = rng.integers(0, clock.days - 1, len(cards))
    theft = clock.epoch0 + day * 86_400 + rng.integers(9 * _HOUR, 20 * _HOUR, len(cards))
    t0 = theft + rng.integers(10 * 60, 3 * _HOUR, len(cards))
    owner, ts = spree(t0, 4.0, 25 * 60, rng)
    card = cards[owner]
    city = holders.home_city[card]
    merchant = merchants.local_home.weighted(city, rng.random(len(card)))
    grocery = merchants.chain_city.uniform(
        holders.grocery_chain[card].astype(np.int64) * len(merchants.transit) + city,
        rng.random(len(card)),
    )
    merchant = np.where((rng.random(len(card)) < 0.3) & (grocery >= 0), grocery, merchant)
    amount = np.round(rng.uniform(12, 50, len(card)), 2)
    n = len(card)
    rows = Rows(
        card=card, ts=ts.astype(np.int64), amount=amount, merchant=merchant.astype(np.int32),
        terminal=pick_terminals(merchants, merchant, rng.random(n)),
        channel=np.full(n, CP, np.int8), entry=np.full(n, ENTRY["contactless"], np.int8),
        scenario=np.full(n, SCENARIOS.index("lost_stolen"), np.int8),
    )  # fmt: skip
    victims = Victims(cards, t0, np.full(len(cards), 0.97), np.ones(len(cards), bool), theft)
    return rows, victims


def _phishing(config: WorldConfig, merchants: Merchants, clock: Clock, used: np.ndarray,
              rng: np.random.Generator) -> tuple[Rows, Victims]:  # fmt: skip
    """Card details phished from the holder, spent online over a day or two."""
    cards = _draw_cards(config.fraud.phishing_rate, config, used, rng)
    t0 = clock.epoch0 + rng.integers(0, clock.days * 86_400 - 86_400, len(cards))
    owner, ts = spree(t0, 3.0, 8 * _HOUR, rng)
    rows = cnp_rows(cards[owner], ts, "fraud", SCENARIOS.index("phishing"), merchants, rng, 0.8)
    victims = Victims(
        cards, t0, np.full(len(cards), config.fraud.report_share), np.zeros(len(cards), bool),
        np.full(len(cards), -1, np.int64),
    )  # fmt: skip
    return rows, victims


def inject_incidents(
    config: WorldConfig, holders: Cardholders, merchants: Merchants, clock: Clock,
    used: np.ndarray, rng: np.random.Generator,
) -> tuple[Rows, Victims]:  # fmt: skip
    """Card testing, lost or stolen cards and phishing, on cards no other scenario touched."""
    parts = [
        _card_testing(config, merchants, clock, used, rng),
        _lost_stolen(config, holders, merchants, clock, used, rng),
        _phishing(config, merchants, clock, used, rng),
    ]
    return Rows.concat([p[0] for p in parts]), Victims.concat([p[1] for p in parts])
