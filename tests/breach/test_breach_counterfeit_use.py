"""Early evidence: the place that cards *seen paying as clones* had in common, before anyone
reports them (``DetectConfig(counterfeit_use=True)``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.breach import DetectConfig, detect, detect_daily
from cardwatch.breach.engine import duckdb_engine
from cardwatch.breach.queries import counterfeit_use_sql, reported_or_cloned_sql
from cardwatch.schema import HISTORY_SCHEMA

from .conftest import CHAIN, PLACES

EARLY = DetectConfig(counterfeit_use=True)
REPORTS = DetectConfig(counterfeit_use=False)
T = datetime(2013, 12, 1, tzinfo=UTC)


def _rows(*payments: tuple[str, float, str, str]) -> pa.Table:
    """(card, day, entry mode, country) payments, card-present, nothing reported, at the
    country's town (Paris, New York)."""
    n = len(payments)
    cols = {name: [None] * n for name in HISTORY_SCHEMA.names}
    cols |= {
        "txn_id": [f"t{i}" for i in range(n)],
        "timestamp": [T + timedelta(days=d) for _, d, _, _ in payments],
        "card_id": [c for c, _, _, _ in payments],
        "amount": [10.0] * n,
        "merchant_id": ["m"] * n,
        "merchant_name": ["m"] * n,
        "merchant_country": [k for _, _, _, k in payments],
        "merchant_lat": [PLACES[k][0] for _, _, _, k in payments],
        "merchant_lon": [PLACES[k][1] for _, _, _, k in payments],
        "channel": ["card_present"] * n,
        "entry_mode": [e for _, _, e, _ in payments],
        "is_fraud": [0] * n,
    }
    return pa.table(cols, schema=HISTORY_SCHEMA)


def test_clone_use_is_a_stripe_payment_where_the_card_never_used_its_chip() -> None:
    history = _rows(
        ("clone", 1, "chip", "FR"),
        ("clone", 3, "magstripe", "US"),  # its first clone use
        ("clone", 4, "fallback", "US"),
        ("traveller", 2, "chip", "US"),
        ("traveller", 3, "magstripe", "US"),  # its chip works there: a reader's fault
        ("late", 9, "magstripe", "US"),  # after as_of
    )
    e = duckdb_engine(history)
    got = e.query(counterfeit_use_sql(e, T - timedelta(days=30), T + timedelta(days=5)))
    assert got.column("card_id").to_pylist() == ["clone"]
    first = got.column("first_fraud_us").to_pylist()[0]
    assert first == int((T + timedelta(days=3)).timestamp() * 1_000_000)


def test_with_an_alibi_a_clone_is_a_card_in_two_places_at_once() -> None:
    """Its chip read in Paris two hours after its stripe in New York: a copy. A traveller who
    flew there (twelve hours between the two) and one whose chip was read days before are not."""
    history = _rows(
        ("clone", 1, "chip", "FR"),
        ("clone", 3.5, "magstripe", "US"),
        ("clone", 3.5 + 2 / 24, "chip", "FR"),
        ("flew", 2 + 8 / 24, "chip", "FR"),
        ("flew", 2 + 20 / 24, "magstripe", "US"),
        ("away", 1, "chip", "FR"),
        ("away", 3.5, "magstripe", "US"),
    )
    e = duckdb_engine(history)
    span = (T - timedelta(days=30), T + timedelta(days=5))
    every = e.query(counterfeit_use_sql(e, *span)).column("card_id").to_pylist()
    assert sorted(every) == ["away", "clone", "flew"]
    got = e.query(counterfeit_use_sql(e, *span, alibi_kmh=1000.0))
    assert got.column("card_id").to_pylist() == ["clone"]
    first = got.column("first_fraud_us").to_pylist()[0]
    assert first == int((T + timedelta(days=3.5)).timestamp() * 1_000_000)
    no_coordinates = history.set_column(
        history.schema.get_field_index("merchant_lat"), "merchant_lat",
        pa.nulls(history.num_rows, pa.float64()),
    )  # fmt: skip
    e = duckdb_engine(no_coordinates)
    assert e.query(counterfeit_use_sql(e, *span, alibi_kmh=1000.0)).num_rows == 0


def test_clones_find_the_breach_before_the_reports_do(world_factory: Callable) -> None:
    world = world_factory(cloned=True)
    assert world.first_report is not None
    as_of = world.first_report + timedelta(days=5)  # a few victims reported: not enough yet
    assert not [s for s in detect(world.table, as_of, REPORTS) if CHAIN in (s.chain, s.merchant_id)]
    found = detect(world.table, as_of, EARLY)
    assert found and found[0].merchant_id == CHAIN and found[0].level == "chain"
    assert found[0].basis == "counterfeit_use" and found[0].to_dict()["basis"] == "counterfeit_use"
    assert set(found[0].fraud_card_ids) <= world.victims


def test_reported_fraud_keeps_its_alert_and_its_basis(world_factory: Callable) -> None:
    world = world_factory(cloned=True)
    late = datetime(2013, 12, 31, tzinfo=UTC)
    found = [s for s in detect(world.table, late, EARLY) if CHAIN in (s.chain, s.merchant_id)]
    assert len(found) == 1 and found[0].basis == "reports"


def test_travellers_paying_by_stripe_abroad_raise_no_alert(world_factory: Callable) -> None:
    """Nor does the airline they all booked online before leaving: no stripe is read there."""
    world = world_factory(breach_stores=(), travellers=120)
    for day in (40, 70, 100, 121):
        assert detect(world.table, datetime(2013, 9, 1, tzinfo=UTC) + timedelta(days=day),
                      EARLY) == []  # fmt: skip


def test_an_airport_shop_all_travellers_passed_is_no_breach(world_factory: Callable) -> None:
    """120 travellers paid by chip at the airport's shop, then by stripe in New York: counted
    as clones, their stripes would make that shop a breach; their cards were with them, so
    none has an alibi, and nothing alerts."""
    world = world_factory(breach_stores=(), travellers=120, airport=True)
    as_of = datetime(2013, 12, 31, tzinfo=UTC)
    anyone = DetectConfig(counterfeit_use=True, clone_alibi_kmh=None)
    assert [s.merchant_id for s in detect(world.table, as_of, anyone)][:1] == ["AIRPORT"]
    assert detect(world.table, as_of, EARLY) == []


def test_daily_runs_alert_on_clones_first(world_factory: Callable) -> None:
    """Daily runs with clones as evidence alert on the first day a run as of that day would,
    days before the reports alone do."""
    world = world_factory(cloned=True)
    assert world.first_report is not None
    start, end = world.first_report, world.first_report + timedelta(days=10)
    days = {cfg.counterfeit_use: next(d for d, s in detect_daily(world.table, start, end, cfg)
                                      if s.merchant_id == CHAIN)
            for cfg in (REPORTS, EARLY)}  # fmt: skip
    assert days[True] < days[False]
    day = start
    while not [s for s in detect(world.table, day, EARLY) if s.merchant_id == CHAIN]:
        day += timedelta(days=1)
    assert day == days[True]


def test_reported_and_cloned_cards_are_one_body_of_evidence() -> None:
    """A card reported and seen as a clone counts once, from whichever came first; a clone
    nobody reported yet is marked unconfirmed, and only its tills count as its exposures."""
    history = _rows(
        ("both", 1, "chip", "FR"),
        ("both", 3, "magstripe", "US"),  # seen as a clone on day 3 ...
        ("both", 3 + 1 / 24, "chip", "FR"),
        ("clone", 1, "chip", "FR"),
        ("clone", 4, "magstripe", "US"),
        ("clone", 4 + 1 / 24, "chip", "FR"),
    )
    fraud = pc.equal(history.column("txn_id"), "t1")  # ... reported on day 5
    history = history.set_column(
        history.schema.get_field_index("is_fraud"), "is_fraud", pc.cast(fraud, pa.int8())
    ).set_column(
        history.schema.get_field_index("fraud_reported_at"), "fraud_reported_at",
        pa.array([T + timedelta(days=5) if f else None for f in fraud.to_pylist()],
                 pa.timestamp("us", tz="UTC")),
    )  # fmt: skip
    e = duckdb_engine(history)
    got = e.query(reported_or_cloned_sql(e, T - timedelta(days=30), T + timedelta(days=6), 1000.0))
    rows = {r["card_id"]: r for r in got.to_pylist()}
    assert set(rows) == {"both", "clone"}
    assert rows["both"]["confirmed"] == 1 and rows["clone"]["confirmed"] == 0
    assert rows["both"]["first_fraud_us"] == int((T + timedelta(days=3)).timestamp() * 1e6)
    assert rows["both"]["reported_us"] == rows["both"]["first_fraud_us"]  # seen before reported
