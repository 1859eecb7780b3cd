"""Strings to the integer codes the kernel works on, for one transaction or a whole Arrow table.

Why codes: the compiled kernel indexes arrays by card and merchant and hashes (card, value)
pairs; it cannot hold Python strings. The vocabularies live with the profile state, so a code
means the same thing in a replay and in the live path that continues from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.profiles.features import CHANNEL_CODES, ENTRY_CODES, MISSING

__all__ = ["MAX_CODE", "Encoded", "Vocabulary", "encode_table"]

#: Codes must fit in 30 bits: the kernel packs (kind, card, value) into one int64 key.
MAX_CODE = (1 << 30) - 1


class Vocabulary:
    """A growing string → code table (codes 0, 1, 2… in order of first appearance).

    >>> v = Vocabulary()
    >>> v.code("FR"), v.code("DE"), v.code("FR"), v.get("IT", -2)
    (0, 1, 0, -2)
    """

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def code(self, value: str) -> int:
        """The code of ``value``, assigning the next one when it is new."""
        found = self.codes.get(value)
        if found is None:
            found = len(self.codes)
            if found > MAX_CODE:
                raise OverflowError("more than 2**30 distinct values in one vocabulary")
            self.codes[value] = found
        return found

    def get(self, value: str, default: int) -> int:
        """The code of ``value`` without assigning one."""
        return self.codes.get(value, default)

    def codes_of(self, uniques: list[str]) -> np.ndarray:
        """Codes of many values at once, assigning new ones."""
        return np.fromiter((self.code(u) for u in uniques), dtype=np.int64, count=len(uniques))


@dataclass
class Encoded:
    """A table's rows as kernel inputs, in the table's row order."""

    card: np.ndarray
    merchant: np.ndarray
    mcc: np.ndarray
    country: np.ndarray
    home: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    channel: np.ndarray
    entry: np.ndarray
    ts: np.ndarray
    amount: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.Array:
    if name in table.column_names:
        col = table.column(name)
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        return arr.cast(type_) if arr.type != type_ else arr
    return pa.nulls(table.num_rows, type=type_)


def _dict_encode(arr: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Indices into the distinct values (-1 for null) and the distinct values."""
    d = pc.dictionary_encode(arr)
    if isinstance(d, pa.ChunkedArray):
        d = d.combine_chunks()
    idx = pc.fill_null(d.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, d.dictionary.to_pylist()


def _lookup(idx: np.ndarray, table: np.ndarray) -> np.ndarray:
    if table.shape[0] == 0:
        return np.full(idx.shape[0], MISSING, dtype=np.int64)
    return np.where(idx >= 0, table[np.maximum(idx, 0)], MISSING).astype(np.int64)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    arr = _column(table, name, pa.float64())
    return pc.fill_null(arr, float("nan")).to_numpy(zero_copy_only=False).astype(np.float64)


def encode_table(
    table: pa.Table,
    cards: Vocabulary,
    merchants: Vocabulary,
    mccs: Vocabulary,
    countries: Vocabulary,
    home_of: dict[str, int],
    default_home: int,
) -> Encoded:
    """Encode every row, assigning codes to new cards, merchants, MCCs and countries."""
    idx, uniq = _dict_encode(_column(table, "card_id", pa.string()))
    card = _lookup(idx, cards.codes_of(uniq))
    homes = np.fromiter(
        (home_of.get(u, default_home) for u in uniq), dtype=np.int64, count=len(uniq)
    )
    home = _lookup(idx, homes)
    idx, uniq = _dict_encode(_column(table, "merchant_id", pa.string()))
    merchant = _lookup(idx, merchants.codes_of(uniq))
    idx, uniq = _dict_encode(_column(table, "mcc", pa.string()))
    mcc = _lookup(idx, mccs.codes_of(uniq))
    idx, uniq = _dict_encode(_column(table, "merchant_country", pa.string()))
    country = _lookup(idx, countries.codes_of(uniq))
    idx, uniq = _dict_encode(_column(table, "channel", pa.string()))
    channel = _lookup(idx, np.array([CHANNEL_CODES.get(u, MISSING) for u in uniq], np.int64))
    idx, uniq = _dict_encode(_column(table, "entry_mode", pa.string()))
    entry = _lookup(idx, np.array([ENTRY_CODES.get(u, MISSING) for u in uniq], np.int64))
    ts_arr = _column(table, "timestamp", pa.timestamp("us", tz="UTC"))
    ts = ts_arr.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    amount = _floats(table, "amount")
    return Encoded(
        card=card,
        merchant=merchant,
        mcc=mcc,
        country=country,
        home=home,
        lat=_floats(table, "merchant_lat"),
        lon=_floats(table, "merchant_lon"),
        channel=channel,
        entry=entry,
        ts=ts,
        amount=amount,
    )
