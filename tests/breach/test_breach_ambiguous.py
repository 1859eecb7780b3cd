"""Two places holding the same victims are held until the next victims tell them apart
(``DetectConfig.hold_ambiguous``): the echo of a breach — a place its victims also use — must
not alert in its stead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from cardwatch.breach import DetectConfig, detect
from cardwatch.breach.detect import _ambiguous
from cardwatch.breach.places import PlaceScore
from cardwatch.schema import HISTORY_SCHEMA

T0 = datetime(2013, 9, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=60)


def _history(victims: list[int]) -> pa.Table:
    """3,000 cards at 300 local places; cards 0-99 also shop at ``A``, cards 20-119 at ``B``
    (the same people, mostly, on the same trips: a shopping centre); ``victims`` are
    defrauded online on day 50 and reported on day 52, and ten cards far from either place are
    defrauded at random (background fraud)."""
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
                    if (place == "A" and card < 100) or (place == "B" and card >= 20):
                        add(card, float(day) + hour / 24, place)
    for card in victims:
        add(card, 50.0, "WEB", fraud=1)
    for card in rng.choice(np.arange(500, 3000), 10, replace=False):
        add(int(card), float(rng.uniform(10, 55)), "WEB", fraud=1)
    return pa.table(rows, schema=HISTORY_SCHEMA).sort_by("timestamp")


def _places(found: list) -> set[str]:
    return {s.merchant_id for s in found}


def test_two_places_with_the_same_victims_are_held() -> None:
    both = _history(list(range(20, 28)))  # eight victims, customers of A and of B
    assert _places(detect(both, AS_OF, DetectConfig(hold_ambiguous=False))) & {"A", "B"}
    assert not _places(detect(both, AS_OF)) & {"A", "B"}


def test_victims_of_one_place_only_decide_between_them() -> None:
    told_apart = _history([*range(20, 28), 0, 1, 2, 3])  # four more, customers of A alone
    assert _places(detect(told_apart, AS_OF)) == {"A"}


def _score(key: str, log_p: float, cards: list[str], level: str = "store",
           chain: str | None = None) -> PlaceScore:  # fmt: skip
    return PlaceScore(level, key, chain, 0, 1, len(cards), 100, 0.5, log_p, 0.0, 0, 10, cards)


def test_a_rival_must_hold_every_victim_and_be_nearly_as_strong() -> None:
    config = DetectConfig()
    p = _score("A", -10.0, ["c1", "c2", "c3"])
    superset = _score("B", -8.0, ["c1", "c2", "c3", "c4"])
    assert _ambiguous(config, p, [p, superset], set()) is superset
    missing_one = _score("B", -8.0, ["c1", "c2", "c4"])
    assert _ambiguous(config, p, [p, missing_one], set()) is None
    far_weaker = _score("B", -5.0, ["c1", "c2", "c3"])
    assert _ambiguous(config, p, [p, far_weaker], set()) is None
    assert _ambiguous(config, p, [p, superset], {("store", "B")}) is None
    own_chain = _score("CHAIN", -9.0, ["c1", "c2", "c3"], "chain")
    mine = _score("A", -10.0, ["c1", "c2", "c3"], chain="CHAIN")
    assert _ambiguous(config, mine, [mine, own_chain], set()) is None
    off = DetectConfig(hold_ambiguous=False)
    assert _ambiguous(off, p, [p, superset], set()) is None
