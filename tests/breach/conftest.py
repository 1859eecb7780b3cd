"""Small synthetic worlds for the breach tests: a few hundred cards, a supermarket everyone
visits, a chain with several stores, background fraud unrelated to any place, and optionally a
breach of the chain's tills whose exposed cards are later defrauded elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from cardwatch.schema import HISTORY_SCHEMA

T0 = datetime(2013, 9, 1, tzinfo=UTC)
DAYS = 122  # to 2013-12-31
CHAIN = "BIGMART"
#: Where a country's tills are (one town each): Paris and New York, 5,840 km apart.
PLACES = {"FR": (48.857, 2.352), "US": (40.713, -74.006)}


@dataclass
class World:
    table: pa.Table
    breach_stores: list[str] = field(default_factory=list)
    breach_start: datetime | None = None
    breach_end: datetime | None = None
    first_report: datetime | None = None
    victims: set[str] = field(default_factory=set)


def build_world(
    seed: int = 7,
    cards: int = 600,
    breach_stores: tuple[int, ...] = (0, 1, 2, 3),
    share_defrauded: float = 0.3,
    background_frauds: int = 12,
    breach_start: datetime = datetime(2013, 11, 27, tzinfo=UTC),
    breach_end: datetime = datetime(2013, 12, 15, tzinfo=UTC),
    chain_stores: int = 5,
    cloned: bool = False,
    travellers: int = 0,
    airport: bool = False,
) -> World:
    """``breach_stores`` are indices into the chain's stores; empty means no breach. ``cloned``:
    the breach's victims are defrauded with copies of their stripes (card-present magstripe
    payments in the United States) rather than online, while they still pay at home by chip.
    ``travellers``: that many random cards also pay once in the United States by stripe,
    honestly, at a random time, having booked their flight online with one airline days before
    — what clone use looks like by chance — and are away from home from their flight to the next
    day. ``airport``: they all paid by chip at the airport's shop before their flight, nine hours
    before their stripe was read in New York: a common point of purchase of honest stripe use
    abroad."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {name: [] for name in HISTORY_SCHEMA.names}
    locals_ = [f"LOCAL{i:03d}" for i in range(150)]
    popularity = 1.0 / np.arange(1, len(locals_) + 1) ** 0.8
    popularity /= popularity.sum()
    victims: set[str] = set()
    first_report: datetime | None = None

    def add(
        card: str,
        ts: datetime,
        merchant: str,
        name: str,
        terminal: str,
        amount: float,
        channel: str = "card_present",
        entry: str = "chip",
        country: str = "FR",
        fraud: int = 0,
        reported: datetime | None = None,
    ) -> None:
        rows["txn_id"].append(f"t{len(rows['txn_id'])}")
        rows["timestamp"].append(ts)
        rows["card_id"].append(card)
        rows["amount"].append(round(amount, 2))
        rows["merchant_id"].append(merchant)
        rows["customer_id"].append("cu" + card[1:])
        rows["currency"].append("EUR")
        rows["mcc"].append("5411")
        rows["merchant_name"].append(name)
        rows["merchant_country"].append(country)
        lat, lon = PLACES[country] if channel != "ecommerce" else (None, None)
        rows["merchant_lat"].append(lat)
        rows["merchant_lon"].append(lon)
        rows["terminal_id"].append(terminal)
        rows["channel"].append(channel)
        rows["entry_mode"].append(entry)
        rows["is_fraud"].append(fraud)
        rows["fraud_reported_at"].append(reported)

    stores = [f"BM{i}" for i in range(chain_stores)]
    breached = {stores[i] for i in breach_stores}
    frauds: list[tuple[str, datetime]] = []  # (card, fraud start)
    for c in range(cards):
        card = f"c{c:04d}"
        rate = rng.gamma(2.0, 0.6)  # heterogeneous activity
        favourites = rng.choice(locals_, size=8, replace=False, p=popularity)
        home_store = stores[rng.integers(chain_stores)] if rng.random() < 0.35 else None
        exposed_at: datetime | None = None
        for d in range(DAYS):
            for _ in range(rng.poisson(rate)):
                ts = T0 + timedelta(days=d, seconds=int(rng.integers(8 * 3600, 21 * 3600)))
                u = rng.random()
                if u < 0.25:
                    add(card, ts, "SUPER", "SUPER", "SUPER-T1", rng.gamma(3, 20))
                elif u < 0.35:
                    add(card, ts, "TRANSIT", "TRANSIT", "TRANSIT-T1", 2.5)
                elif u < 0.50 and home_store is not None:
                    term = f"{home_store}-T{rng.integers(2)}"
                    add(card, ts, home_store, CHAIN, term, rng.gamma(3, 15))
                    if home_store in breached and breach_start <= ts <= breach_end:
                        exposed_at = exposed_at or ts
                else:
                    m = str(rng.choice(favourites))
                    add(card, ts, m, m, f"{m}-T1", rng.gamma(2, 10))
        if exposed_at is not None and rng.random() < share_defrauded:
            frauds.append((card, exposed_at + timedelta(days=float(rng.uniform(3, 20)))))
            victims.add(card)
    for card in rng.choice([f"c{c:04d}" for c in range(cards)], background_frauds, replace=False):
        if card not in victims:
            frauds.append((str(card), T0 + timedelta(days=float(rng.uniform(20, DAYS - 5)))))
    chosen = rng.choice(cards, travellers, replace=False) if travellers else []
    away: dict[str, tuple[datetime, datetime]] = {}
    for card in (f"c{c:04d}" for c in chosen):
        ts = T0 + timedelta(days=float(rng.uniform(12, DAYS - 1)))
        booked = ts - timedelta(days=float(rng.uniform(1, 10)))
        add(card, booked, "AIRLINE", "AIRLINE", "", 600.0, channel="ecommerce", entry="ecommerce")
        flight = ts - timedelta(hours=9)
        away[card] = (flight, ts + timedelta(days=1))
        if airport:
            add(card, flight - timedelta(hours=1), "AIRPORT", "AIRPORT", "AIRPORT-T1", 25.0)
        add(card, ts, f"USSHOP{rng.integers(200)}", "US SHOP", "", rng.gamma(3, 20),
            entry="magstripe", country="US")  # fmt: skip
    for card, start in frauds:
        clone = cloned and card in victims
        if clone:  # its owner still has the card, at home: an hour later, they pay by chip
            add(card, start + timedelta(hours=1), "SUPER", "SUPER", "SUPER-T1", 30.0)
        for j in range(int(rng.integers(1, 4))):
            ts = start + timedelta(hours=3 * j)
            # A copy is used far away: its owner notices later than a stolen card's.
            reported = ts + timedelta(days=float(rng.uniform(1, 5)) * (2 if clone else 1))
            first_report = (
                reported
                if card in victims and (first_report is None or reported < first_report)
                else first_report
            )
            add(
                card,
                ts,
                f"WEB{rng.integers(50)}",
                "WEB",
                "",
                rng.gamma(4, 60),
                channel="card_present" if clone else "ecommerce",
                entry="magstripe" if clone else "ecommerce",
                country="US",
                fraud=1,
                reported=reported,
            )
    at_home = [
        not (card in away and away[card][0] <= ts <= away[card][1] and country == "FR")
        for card, ts, country in zip(
            rows["card_id"], rows["timestamp"], rows["merchant_country"], strict=True
        )
    ]
    table = (
        pa.table(rows, schema=HISTORY_SCHEMA)
        .filter(pa.array(at_home))
        .sort_by([("timestamp", "ascending"), ("txn_id", "ascending")])
    )
    return World(
        table,
        sorted(breached),
        breach_start if breached else None,
        breach_end if breached else None,
        first_report,
        victims,
    )


@pytest.fixture(scope="session")
def world_factory() -> Callable[..., World]:
    cache: dict[tuple, World] = {}

    def make(**kwargs: object) -> World:
        key = tuple(sorted(kwargs.items()))
        if key not in cache:
            cache[key] = build_world(**kwargs)  # type: ignore[arg-type]
        return cache[key]

    return make


@pytest.fixture(scope="session")
def breached_world(world_factory: Callable[..., World]) -> World:
    return world_factory()


#: When the twin places' victims have all been reported.
TWINS_AS_OF = T0 + timedelta(days=60)


def twin_places(victims: list[int], b_last: int = 119, late: tuple[int, ...] = ()) -> pa.Table:
    """3,000 cards at 300 local places; cards 0-99 also shop at ``A``, cards 20-``b_last`` at
    ``B`` (the same people, mostly, on the same trips: a shopping centre); ``victims`` are
    defrauded online on day 50 and reported on day 52, and ten cards far from either place are
    defrauded at random (background fraud), and the ``late`` ones on day 55."""
    rng = np.random.default_rng(3)
    rows: dict[str, list] = {name: [] for name in HISTORY_SCHEMA.names}

    def add(card: int, day: float, merchant: str, fraud: int = 0) -> None:
        ts = T0 + timedelta(days=day)
        rows["txn_id"].append(f"t{len(rows['txn_id'])}")
        rows["timestamp"].append(ts)
        rows["card_id"].append(f"c{card:04d}")
        rows["customer_id"].append(f"cu{card:04d}")
        rows["amount"].append(20.0)
        rows["currency"].append("EUR")
        rows["mcc"].append("5999")
        rows["merchant_id"].append(merchant)
        rows["merchant_name"].append(merchant)
        rows["merchant_country"].append("US" if fraud else "FR")
        rows["merchant_lat"].append(None)
        rows["merchant_lon"].append(None)
        rows["terminal_id"].append(f"{merchant}-T1")
        rows["channel"].append("ecommerce" if fraud else "card_present")
        rows["entry_mode"].append("ecommerce" if fraud else "chip")
        rows["is_fraud"].append(fraud)
        rows["fraud_reported_at"].append(ts + timedelta(days=2) if fraud else None)

    for card in range(3000):
        for day in np.sort(rng.uniform(0, 59, rng.poisson(30))):
            add(card, float(day), f"LOCAL{rng.integers(300):03d}")
        if card < 120:  # A's and B's customers shop at both in one trip, when they use both
            for day in rng.uniform(0, 48, 3):
                for hour, place in ((0, "A"), (1, "B")):
                    if (place == "A" and card < 100) or (place == "B" and 20 <= card <= b_last):
                        add(card, float(day) + hour / 24, place)
    for card in victims:
        add(card, 50.0, "WEB", fraud=1)
    for card in rng.choice(np.arange(500, 3000), 10, replace=False):
        add(int(card), float(rng.uniform(10, 55)), "WEB", fraud=1)
    for card in late:
        add(card, 55.0, "WEB", fraud=1)
    return pa.table(rows, schema=HISTORY_SCHEMA).sort_by("timestamp")
