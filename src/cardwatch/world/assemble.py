"""Turn integer-coded rows into the contract's Arrow table, sorted by (timestamp, txn_id).

String columns are built by Arrow ``take`` on small lookup arrays (one entry per merchant, card,
terminal), so even ten million rows cost seconds and no Python loop over rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.schema import CHANNELS, ENTRY_MODES, HISTORY_SCHEMA
from cardwatch.world.catalogue import SCENARIOS

__all__ = ["TRANSACTIONS_SCHEMA", "ids", "transactions_table"]

#: The simulator's transactions: the history contract plus the ground-truth ``scenario``.
TRANSACTIONS_SCHEMA = HISTORY_SCHEMA.append(pa.field("scenario", pa.string()))


def ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` followed by 0..n-1, zero-padded: ids that sort like their numbers.

    >>> ids("c", 2, 7).to_pylist()
    ['c0000000', 'c0000001']
    """
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _ts(seconds: np.ndarray) -> pa.Array:
    micros = seconds.astype(np.int64) * 1_000_000
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"), mask=seconds < 0)


def _codes(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings for integer codes; a negative code is a null."""
    return pa.array(list(values)).take(pa.array(codes, mask=codes < 0))


def transactions_table(
    *,
    card: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    merchant: np.ndarray,
    terminal: np.ndarray,
    channel: np.ndarray,
    entry: np.ndarray,
    scenario: np.ndarray,
    is_fraud: np.ndarray,
    reported_at: np.ndarray,
    card_ids: pa.Array,
    customer_of_card: np.ndarray,
    customer_ids: pa.Array,
    merchant_ids: pa.Array,
    merchant_cols: dict[str, pa.Array],
    terminal_ids: pa.Array,
    txn_prefix: str = "t",
    scenario_names: tuple[str, ...] = SCENARIOS,
) -> pa.Table:
    """The transactions table; ``merchant_cols`` holds name, mcc, country, lat, lon per merchant.

    Rows are ordered by timestamp (ties in input order) and numbered in that order, so that
    (timestamp, txn_id) order is the file order.
    """
    order = np.argsort(ts, kind="stable")
    m = pa.array(merchant[order])
    c = pa.array(card[order])
    cols: dict[str, pa.Array] = {
        "txn_id": ids(txn_prefix, len(order), 10),
        "timestamp": _ts(ts[order]),
        "card_id": card_ids.take(c),
        "amount": pa.array(amount[order], type=pa.float64()),
        "merchant_id": merchant_ids.take(m),
        "customer_id": customer_ids.take(pa.array(customer_of_card[card[order]])),
        "currency": pa.array(["EUR"]).take(pa.array(np.zeros(len(order), np.int8))),
        "mcc": merchant_cols["mcc"].take(m),
        "merchant_name": merchant_cols["name"].take(m),
        "merchant_country": merchant_cols["country"].take(m),
        "merchant_lat": merchant_cols["lat"].take(m),
        "merchant_lon": merchant_cols["lon"].take(m),
        "terminal_id": terminal_ids.take(pa.array(terminal[order])),
        "channel": _codes(CHANNELS, channel[order]),
        "entry_mode": _codes(ENTRY_MODES, entry[order]),
        "is_fraud": pa.array(is_fraud[order], type=pa.int8()),
        "fraud_reported_at": _ts(reported_at[order]),
        "scenario": _codes(scenario_names, scenario[order]),
    }
    return pa.Table.from_arrays(list(cols.values()), schema=TRANSACTIONS_SCHEMA)
