"""A payment the profiles were rebuilt from after a restart (``Engine.warm_up``) can be reversed
like one decided live: a restart followed by a 0400 leaves the profiles exactly as the 0400
alone would have (counts exactly, sums to rounding), for the card's declines too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.profiles.histories import histories, transactions
from tests.profiles.test_reversal import COUNTS, SUMS, _engine
from tests.server.stores import KINDS, opened

from cardwatch.engine import Engine
from cardwatch.profiles import FEATURE_INDEX, WINDOWS_US, to_us
from cardwatch.schema import Transaction
from cardwatch.service import AuthorisationService
from cardwatch.store.base import Store
from cardwatch.store.history import transactions_table


def _unlabelled(history: pa.Table) -> pa.Table:
    """Without fraud labels: both engines must see the same merchant fraud counts."""
    i = history.column_names.index("is_fraud")
    return history.set_column(i, "is_fraud", pa.array([0] * history.num_rows, pa.int8()))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.data())
def test_a_restart_then_a_reversal_equals_the_reversal_alone(
    history: pa.Table, data: st.DataObject
) -> None:
    history = _unlabelled(history)
    txns = transactions(history)
    n = len(txns)
    if n < 2:
        return
    split = data.draw(st.integers(1, n - 1), label="restart after")
    reversed_rows = data.draw(st.lists(st.integers(0, split - 1), max_size=4), label="reversed")
    tiny = data.draw(st.booleans(), label="tiny logs")

    live = _engine(tiny)
    for txn in txns[:split]:
        live.update(txn, live.decide(txn))
    restarted = _engine(tiny)
    restarted.warm_up(history.slice(0, split))

    now = to_us(txns[split].timestamp)
    for i in reversed_rows:
        here, there = live.reverse(txns[i].txn_id), restarted.reverse(txns[i].txn_id)
        # Each side compacts its log at its own moments: only a payment out of every window
        # may be known to one and forgotten by the other.
        assert here == there or to_us(txns[i].timestamp) <= now - WINDOWS_US[3]

    for k in range(split, n):
        txn = txns[k]
        a, b = live.evaluate(txn), restarted.evaluate(txn)
        np.testing.assert_array_equal(a.features[COUNTS], b.features[COUNTS], err_msg=f"row {k}")
        np.testing.assert_allclose(a.features[SUMS], b.features[SUMS], rtol=1e-9, atol=1e-6)
        decision = live.decide(txn)
        assert restarted.decide(txn).action == decision.action
        live.update(txn, decision)
        restarted.update(txn, decision)


@pytest.mark.parametrize("kind", KINDS)
def test_a_payment_decided_before_a_restart_is_reversed_after_it(kind: str, tmp_path: Any) -> None:
    with opened(kind, tmp_path) as store:
        _restart_then_reverse(store)


def _restart_then_reverse(store: Store) -> None:
    start = datetime(2024, 3, 1, 12, tzinfo=UTC)
    txns = [
        Transaction(f"t{i}", start + timedelta(minutes=i), "card-1", 25.0 + i, "m-1")
        for i in range(4)
    ]
    before = AuthorisationService(Engine(), store, secret_key=b"s")
    for i, txn in enumerate(txns[:3]):
        before.authorise(txn, iso_key=f"card-1|{i:06d}|rrn{i}|0301120{i}00")

    # The restart: a new engine warmed on what the store holds, as ``server.assembly`` does.
    engine = Engine()
    table = transactions_table(store.decided_transactions(after=None))
    engine.warm_up(table.take(pc.sort_indices(table, [("timestamp", "ascending")])))
    after = AuthorisationService(engine, store, secret_key=b"s")
    assert after.reverse(iso_key="card-1|000001|rrn1|0301120100")
    assert not after.reverse(iso_key="card-1|000001|rrn1|0301120100")

    x = engine.evaluate(txns[3]).features
    assert x[FEATURE_INDEX["card_txn_count_1h"]] == 2
    assert x[FEATURE_INDEX["card_amount_sum_1h"]] == 25.0 + 27.0
    assert x[FEATURE_INDEX["merchant_txn_count_24h"]] == 2
