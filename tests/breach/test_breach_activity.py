"""The null's activity factor measured per place (``DetectConfig.empirical_activity``): a card
twice as active is not twice as likely to pass at a place most cards visit, and how likely it
was is counted among cards as active as it, not assumed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardwatch.breach import DetectConfig, detect
from cardwatch.breach.engine import duckdb_engine
from cardwatch.breach.evidence import gather
from cardwatch.breach.places import activity
from cardwatch.schema import HISTORY_SCHEMA

T0 = datetime(2013, 9, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=60)


def _history() -> pa.Table:
    """1,000 cards over 59 days: light ones (cards 0-499, 6 payments) and heavy ones (500-999,
    48 payments). The supermarket SUP is the regular place of 80 % of the heavy cards and of
    20 % of the light ones; the rest pay at 400 small shops. Ten heavy cards and ten light ones
    are defrauded online on day 55 (reported on day 57)."""
    rng = np.random.default_rng(11)
    rows: dict[str, list] = {name: [] for name in HISTORY_SCHEMA.names}

    def add(card: int, day: float, merchant: str, fraud: int = 0) -> None:
        ts = T0 + timedelta(days=day)
        for name, value in (
            ("txn_id", f"t{len(rows['txn_id'])}"), ("timestamp", ts),
            ("card_id", f"c{card:04d}"), ("customer_id", f"cu{card:04d}"), ("amount", 20.0),
            ("currency", "EUR"), ("mcc", "5411"), ("merchant_id", merchant),
            ("merchant_name", merchant), ("merchant_country", "US" if fraud else "FR"),
            ("merchant_lat", None), ("merchant_lon", None), ("terminal_id", f"{merchant}-T1"),
            ("channel", "ecommerce" if fraud else "card_present"),
            ("entry_mode", "ecommerce" if fraud else "chip"), ("is_fraud", fraud),
            ("fraud_reported_at", ts + timedelta(days=2) if fraud else None),
        ):  # fmt: skip
            rows[name].append(value)

    for card in range(1000):
        heavy = card >= 500
        regular = rng.random() < (0.8 if heavy else 0.2)
        for i, day in enumerate(np.sort(rng.uniform(0, 50, 48 if heavy else 6))):
            place = "SUP" if regular and i % 3 == 0 else f"SHOP{rng.integers(400):03d}"
            add(card, float(day), place)
    for card in [*range(0, 10), *range(500, 510)]:
        add(card, 55.0, "WEB", fraud=1)
    return pa.table(rows, schema=HISTORY_SCHEMA).sort_by("timestamp")


@pytest.fixture(scope="module")
def history() -> pa.Table:
    return _history()


def _visits(history: pa.Table, place: str, cards: range) -> float:
    ids = {f"c{c:04d}" for c in cards}
    seen = {
        c
        for c, m in zip(
            history.column("card_id").to_pylist(),
            history.column("merchant_id").to_pylist(),
            strict=True,
        )
        if m == place and c in ids
    }
    return len(seen) / len(ids)


def test_the_factor_is_what_cards_as_active_as_the_victims_did(history) -> None:
    config = DetectConfig(empirical_activity=True, min_fraud_cards=1)
    ev = gather(duckdb_engine(history), AS_OF, config)
    assert ev is not None
    sup = next(p for p in ev.candidates if p.key == "SUP" and p.level == "store")
    heavy, light = _visits(history, "SUP", range(500, 1000)), _visits(history, "SUP", range(500))
    everyone = (heavy + light) / 2
    # Half the victims are heavy, half light: they were expected at SUP as often as the mean of
    # the two groups' shares, which is the share of all cards: no tilt.
    assert activity(ev, sup) == pytest.approx((heavy + light) / 2 / everyone, rel=0.02)
    assert activity(ev, sup) == pytest.approx(1.0, abs=0.05)
    off = gather(duckdb_engine(history), AS_OF, DetectConfig(min_fraud_cards=1))
    assert off is not None
    assert activity(off, next(p for p in off.candidates if p.key == "SUP")) == off.ratio


def test_heavy_victims_at_their_regular_place(history) -> None:
    """Only heavy cards defrauded: the factor is their share at SUP over everyone's."""
    light_victims = pa.array([f"c{c:04d}" for c in range(10)])
    table = history.filter(pc.invert(pc.is_in(history.column("card_id"), light_victims)))
    config = DetectConfig(empirical_activity=True, min_fraud_cards=1)
    ev = gather(duckdb_engine(table), AS_OF, config)
    assert ev is not None
    sup = next(p for p in ev.candidates if p.key == "SUP" and p.level == "store")
    heavy, light = _visits(table, "SUP", range(500, 1000)), _visits(table, "SUP", range(10, 500))
    everyone = (500 * heavy + 490 * light) / 990
    assert activity(ev, sup) == pytest.approx(heavy / everyone, rel=0.02)
    assert activity(ev, sup) < ev.ratio  # the linear ratio asks for far more


def test_no_alert_from_background_fraud_either_way(world_factory: Callable) -> None:
    world = world_factory(breach_stores=())
    as_of = datetime(2013, 12, 31, tzinfo=UTC)
    assert detect(world.table, as_of, DetectConfig(empirical_activity=True)) == []


def test_the_breach_still_ranks_first(breached_world) -> None:
    found = detect(
        breached_world.table, datetime(2013, 12, 31, tzinfo=UTC),
        DetectConfig(empirical_activity=True),
    )  # fmt: skip
    assert found and found[0].merchant_id == "BIGMART"
