"""Random small histories for property tests: few cards and merchants so that windows, repeats,
labels and declines all interact; time gaps from zero (same instant) to weeks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import strategies as st

from cardwatch.engine import Engine
from cardwatch.profiles import FEATURE_NAMES
from cardwatch.schema import CARDS_SCHEMA, HISTORY_SCHEMA, Decision, Transaction

START = datetime(2024, 3, 1, tzinfo=UTC)
_GAPS_S = (
    0,
    1,
    30,
    600,
    1800,
    3599,
    3600,
    7200,
    20_000,
    86_399,
    86_400,
    90_000,
    3 * 86_400,
    7 * 86_400,
    8 * 86_400,
    31 * 86_400,
)
_COUNTRIES = ("FR", "FR", "DE", "US", None)
_MCCS = ("5411", "5812", "5999", None)
_MODES = (
    ("card_present", "chip"),
    ("card_present", "contactless"),
    ("card_present", "magstripe"),
    ("card_present", "fallback"),
    ("ecommerce", "ecommerce"),
    ("moto", "manual"),
    ("atm", "chip"),
    (None, "magstripe"),
    (None, None),
    ("ecommerce", "credential_on_file"),
)
_PLACES = ((48.85, 2.35), (52.52, 13.40), (40.71, -74.0), (None, None))


@st.composite
def histories(draw: st.DrawFn, max_rows: int = 60) -> pa.Table:
    n = draw(st.integers(1, max_rows))
    n_cards = draw(st.integers(1, 4))
    rows = []
    t = START
    for i in range(n):
        t = t + timedelta(seconds=draw(st.sampled_from(_GAPS_S)))
        merchant = draw(st.integers(0, 4))
        channel, entry = draw(st.sampled_from(_MODES))
        lat, lon = draw(st.sampled_from(_PLACES))
        fraud = draw(st.integers(0, 5)) == 0
        delay = timedelta(seconds=draw(st.sampled_from(_GAPS_S)))
        rows.append(
            {
                "txn_id": f"t{i:04d}",
                "timestamp": t,
                "card_id": f"c{draw(st.integers(0, n_cards - 1))}",
                "amount": float(draw(st.sampled_from((1.0, 9.99, 12.5, 40.0, 120.0, 900.0)))),
                "merchant_id": f"m{merchant}",
                "mcc": draw(st.sampled_from(_MCCS)),
                "merchant_country": draw(st.sampled_from(_COUNTRIES)),
                "merchant_lat": lat,
                "merchant_lon": lon,
                "channel": channel,
                "entry_mode": entry,
                "is_fraud": 1 if fraud else 0,
                "fraud_reported_at": t + delay if fraud else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)


def cards_table() -> pa.Table:
    """Card c1 lives in Germany; the others have no row (home is the issuer's country)."""
    return pa.Table.from_pylist(
        [
            {
                "card_id": "c1",
                "customer_id": "u1",
                "home_country": "DE",
                "home_lat": 52.5,
                "home_lon": 13.4,
            }
        ],
        schema=CARDS_SCHEMA,
    )


def transactions(table: pa.Table) -> list[Transaction]:
    """The rows as live transactions (without their labels)."""
    out = []
    for r in table.to_pylist():
        r.pop("is_fraud")
        r.pop("fraud_reported_at")
        out.append(Transaction(**r))
    return out


def live_run(
    engine: Engine,
    history: pa.Table,
    start: int = 0,
    before: Callable[[int, Transaction], None] | None = None,
) -> tuple[list[Decision], np.ndarray]:
    """Rows ``start:`` through the live path; labels of earlier rows reported once due.
    ``before(k, txn)`` runs before row ``k`` is decided."""
    txns = transactions(history)
    labels = [
        (r["fraud_reported_at"], r["txn_id"], r["merchant_id"], r["timestamp"])
        for r in history.to_pylist()
        if r["is_fraud"] == 1
    ]
    decisions, rows = [], []
    for k in range(start, len(txns)):
        txn = txns[k]
        for rep, txn_id, merchant, ts in labels:
            if rep <= txn.timestamp and ts <= txn.timestamp:
                engine.report_fraud(txn_id, merchant, rep, occurred_at=ts)
        if before is not None:
            before(k, txn)
        ev = engine.evaluate(txn)
        decisions.append(engine.decide(txn))
        engine.update(txn)
        rows.append(ev.features)
    return decisions, np.array(rows).reshape(-1, len(FEATURE_NAMES))
