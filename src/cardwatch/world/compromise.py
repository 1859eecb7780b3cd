"""Points of compromise: the till breach of a chain, decoy breaches, and skimmers.

A compromised terminal leaks every card it reads during its window; the cards it leaked are the
*exposed* cards. After a delay (the data reaching a card shop) a share of them is defrauded,
mostly as counterfeit magstripe cards far from home, some online. Exposure is computed from the
honest transactions themselves, so it is exactly what a breach detector could find in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cardwatch.errors import ConfigurationError
from cardwatch.world.catalogue import SCENARIOS
from cardwatch.world.config import BreachConfig, WorldConfig
from cardwatch.world.fraudkit import Clock, Victims, cnp_rows, counterfeit_rows, spree
from cardwatch.world.geography import Cities
from cardwatch.world.merchants import ATM, CP, Merchants
from cardwatch.world.rows import Rows

__all__ = ["Compromise", "exposed_cards", "inject_compromises"]

_DAY = 86_400


@dataclass
class Compromise:
    """One injected point of compromise and what followed it."""

    kind: str  # "breach" (the main chain breach), "decoy" or "skimmer"
    chain: str
    merchants: np.ndarray  # merchant numbers
    terminals: np.ndarray  # global terminal numbers
    start: int  # UTC seconds, inclusive
    end: int  # UTC seconds, exclusive
    victims: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def scenario(self) -> str:
        return "skimmer" if self.kind == "skimmer" else "breach"


def exposed_cards(
    rows: Rows, terminals: np.ndarray, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cards read by ``terminals`` in [start, end) and the first time each was read.

    >>> r = Rows.concat([])
    >>> exposed_cards(r, np.array([1]), 0, 10)[0].tolist()
    []
    """
    compromised = np.zeros(
        int(max(rows.terminal.max(initial=0), terminals.max(initial=0))) + 1, bool
    )
    compromised[terminals] = True
    hit = compromised[rows.terminal] & (rows.ts >= start) & (rows.ts < end)
    hit &= (rows.channel == CP) | (rows.channel == ATM)
    card, ts = rows.card[hit], rows.ts[hit]
    order = np.lexsort((ts, card))
    card, ts = card[order], ts[order]
    uniq, first = np.unique(card, return_index=True)
    return uniq.astype(np.int32), ts[first]


def _terminals(merchants: Merchants, stores: np.ndarray) -> np.ndarray:
    starts = merchants.terminal_start[stores]
    counts = merchants.n_terminals[stores]
    base = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return (base + np.arange(counts.sum())).astype(np.int32)


def _chain_stores(merchants: Merchants, b: BreachConfig) -> tuple[str, np.ndarray]:
    names = merchants.chain_names
    if b.chain is None:
        sizes = [int((merchants.chain == c).sum()) for c in names]
        ranked = sorted(range(len(names)), key=lambda i: (-sizes[i], i))
        if b.chain_rank >= len(ranked):
            raise ConfigurationError(f"chain_rank {b.chain_rank}: only {len(ranked)} chains")
        chain = names[ranked[b.chain_rank]]
    elif b.chain in names:
        chain = b.chain
    else:
        raise ConfigurationError(f"unknown chain {b.chain!r}; chains: {', '.join(names)}")
    return chain, np.flatnonzero(merchants.chain == chain).astype(np.int32)


def _victims(
    rows: Rows, comp: Compromise, share: float, delay_s: float, spread_s: float,
    used: np.ndarray, clock: Clock, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Pick defrauded cards among the exposed, and the time of each one's first fraud."""
    cards, first_seen = exposed_cards(rows, comp.terminals, comp.start, comp.end)
    free = ~used[cards]
    k = min(round(share * len(cards)), int(free.sum()))
    pick = np.sort(rng.choice(np.flatnonzero(free), size=k, replace=False))
    victims, seen = cards[pick], first_seen[pick]
    t0 = np.maximum(seen + 3600, comp.start + int(delay_s)) + rng.exponential(spread_s, k).astype(
        np.int64
    )
    keep = t0 < clock.end
    used[victims] = True
    return victims[keep], t0[keep]


def _frauds(
    victims: np.ndarray, t0: np.ndarray, per_card: float, cnp_share: float, atm_share: float,
    scenario: int, merchants: Merchants, cities: Cities, clock: Clock, rng: np.random.Generator,
) -> Rows:  # fmt: skip
    owner, ts = spree(t0, per_card, 6 * 3600, rng)
    card = victims[owner]
    online = rng.random(len(card)) < cnp_share
    spread_from = int(t0.min()) if len(t0) else clock.epoch0
    return Rows.concat(
        [
            counterfeit_rows(
                card[~online], ts[~online], spread_from, atm_share, scenario, merchants,
                cities, clock, rng,
            ),
            cnp_rows(card[online], ts[online], "fraud", scenario, merchants, rng),
        ]
    )  # fmt: skip


def _skimmer_site(
    rows: Rows, merchants: Merchants, start: int, end: int, taken: set[int],
    rng: np.random.Generator,
) -> int:  # fmt: skip
    """One of the 30 busiest independent shops in France (distinct cards seen in the window):
    skimmers go where many cards pass."""
    local = (merchants.chain == "") & (merchants.country == "FR") & (merchants.channel == CP)
    local &= merchants.mcc != "4111"
    hit = local[rows.merchant] & (rows.ts >= start) & (rows.ts < end)
    pairs = np.unique(rows.merchant[hit].astype(np.int64) * (1 << 32) + rows.card[hit])
    cards_per = np.bincount((pairs >> 32).astype(np.int64), minlength=len(merchants))
    cards_per[list(taken)] = 0
    busiest = np.argsort(-cards_per, kind="stable")[:30]
    busiest = busiest[cards_per[busiest] > 0]
    if len(busiest) == 0:
        busiest = np.flatnonzero(local)
    return int(busiest[rng.integers(len(busiest))])


def inject_compromises(
    honest: Rows, config: WorldConfig, merchants: Merchants, cities: Cities, clock: Clock,
    used: np.ndarray, rng: np.random.Generator,
) -> tuple[list[Compromise], Rows, Victims]:  # fmt: skip
    """The main breach, the decoy breaches and the skimmers, with their fraud rows."""
    b, f = config.breach, config.fraud
    comps: list[Compromise] = []
    frauds: list[Rows] = []
    victims: list[Victims] = []

    def record(comp: Compromise, v: np.ndarray, t0: np.ndarray, report_p: float) -> None:
        comp.victims = v
        comps.append(comp)
        victims.append(
            Victims(v, t0, np.full(len(v), report_p), np.zeros(len(v), bool), np.full(len(v), -1))
        )

    chain, stores = _chain_stores(merchants, b)
    if b.stores is not None:
        stores = np.sort(rng.choice(stores, size=min(b.stores, len(stores)), replace=False))
    start = clock.epoch0 + b.start_day * _DAY
    main = Compromise("breach", chain, stores, _terminals(merchants, stores), start,
                      start + b.window_days * _DAY)  # fmt: skip
    v, t0 = _victims(honest, main, b.share_defrauded, b.delay_days * _DAY, b.spread_days * _DAY,
                     used, clock, rng)  # fmt: skip
    frauds.append(_frauds(v, t0, b.frauds_per_card, b.cnp_share, 0.25, SCENARIOS.index("breach"),
                          merchants, cities, clock, rng))  # fmt: skip
    record(main, v, t0, b.report_share)

    others = [c for c in merchants.chain_names if c != chain]
    for _ in range(f.decoys):
        name = others[int(rng.integers(len(others)))]
        pool = np.flatnonzero(merchants.chain == name)
        st = np.sort(rng.choice(pool, size=min(f.decoy_stores, len(pool)), replace=False))
        day = int(rng.integers(0, max(1, config.days - f.decoy_window_days - 14)))
        s = clock.epoch0 + day * _DAY
        comp = Compromise("decoy", name, st.astype(np.int32), _terminals(merchants, st), s,
                          s + f.decoy_window_days * _DAY)  # fmt: skip
        v, t0 = _victims(honest, comp, f.decoy_share_defrauded, b.delay_days * _DAY,
                         b.spread_days * _DAY, used, clock, rng)  # fmt: skip
        code = SCENARIOS.index("breach")
        frauds.append(_frauds(v, t0, b.frauds_per_card, b.cnp_share, 0.25, code, merchants,
                              cities, clock, rng))  # fmt: skip
        record(comp, v, t0, b.report_share)

    taken: set[int] = set()
    for _ in range(f.skimmers):
        day = int(rng.integers(0, max(1, config.days - f.skimmer_window_days - 14)))
        s = clock.epoch0 + day * _DAY
        e = s + f.skimmer_window_days * _DAY
        site = _skimmer_site(honest, merchants, s, e, taken, rng)
        taken.add(site)
        st = np.array([site], dtype=np.int32)
        comp = Compromise("skimmer", "", st, _terminals(merchants, st), s, e)
        v, t0 = _victims(honest, comp, f.skimmer_share_defrauded, 2 * _DAY, 4 * _DAY, used,
                         clock, rng)  # fmt: skip
        frauds.append(_frauds(v, t0, 3.0, 0.1, 0.6, SCENARIOS.index("skimmer"), merchants,
                              cities, clock, rng))  # fmt: skip
        record(comp, v, t0, 0.95)
    return comps, Rows.concat(frauds), Victims.concat(victims)
