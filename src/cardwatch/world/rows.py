"""Transactions while the world is being built: parallel NumPy arrays of small integer codes.

Strings (ids, names, countries) are only materialised once, at the end, by indexing small lookup
tables; this is what lets ten million rows be generated in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cardwatch.schema import ENTRY_MODES

__all__ = ["ENTRY", "Rows"]

#: Entry mode codes: index into cardwatch.schema.ENTRY_MODES.
ENTRY = {name: np.int8(i) for i, name in enumerate(ENTRY_MODES)}


@dataclass
class Rows:
    """A batch of transactions. ``ts`` is whole seconds since the Unix epoch, UTC."""

    card: np.ndarray  # int32 card number
    ts: np.ndarray  # int64
    amount: np.ndarray  # float64, EUR
    merchant: np.ndarray  # int32
    terminal: np.ndarray  # int32 global terminal number
    channel: np.ndarray  # int8 index into schema.CHANNELS
    entry: np.ndarray  # int8 index into schema.ENTRY_MODES
    scenario: np.ndarray  # int8 index into catalogue.SCENARIOS

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> Rows:
        return cls.concat([])

    @classmethod
    def concat(cls, parts: list[Rows]) -> Rows:
        """All rows of ``parts`` in order.

        >>> len(Rows.concat([Rows.empty(), Rows.empty()]))
        0
        """
        dtypes = {
            "card": np.int32, "ts": np.int64, "amount": np.float64, "merchant": np.int32,
            "terminal": np.int32, "channel": np.int8, "entry": np.int8, "scenario": np.int8,
        }  # fmt: skip
        return cls(
            **{
                f.name: np.concatenate(
                    [getattr(p, f.name) for p in parts] + [np.zeros(0, dtypes[f.name])]
                ).astype(dtypes[f.name], copy=False)
                for f in fields(cls)
            }
        )

    def take(self, index: np.ndarray) -> Rows:
        """The rows at ``index`` (integer positions or a boolean mask)."""
        return Rows(**{f.name: getattr(self, f.name)[index] for f in fields(self)})
