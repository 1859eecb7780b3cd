"""What a simulation returns: Arrow tables and a JSON-able ground truth, no files.

The CLI (an adapter) writes them out; the core and the benchmarks use them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

__all__ = ["Step", "World", "iso"]

#: Called with a short description as each stage of a simulation starts (for progress bars).
Step = Callable[[str], None]


@dataclass(frozen=True)
class World:
    """A simulated portfolio: transactions (contract columns + ``scenario``), cards, merchants
    and the truth about every injected scenario."""

    transactions: pa.Table
    cards: pa.Table
    merchants: pa.Table
    truth: dict[str, Any]


def iso(seconds: int | float) -> str:
    """UTC seconds as ISO 8601 with offset.

    >>> iso(0)
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(int(seconds), UTC).isoformat()
