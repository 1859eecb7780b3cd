"""Per-card and per-merchant profiles in event time: one compiled kernel for replay and live.

``ProfileState.features(txn)`` reads, ``ProfileState.update(txn)`` changes, time comes from the
transaction; ``ProfileState.run(table)`` is the same kernel over a whole history.
"""

from __future__ import annotations

from cardwatch.profiles.encode import Encoded, Vocabulary
from cardwatch.profiles.eventtime import from_us, to_us
from cardwatch.profiles.features import (
    DESCRIPTIONS,
    FEATURE_INDEX,
    FEATURE_NAMES,
    N_FEATURES,
    WINDOWS_US,
)
from cardwatch.profiles.state import DEFAULT_ISSUER_COUNTRY, DEFAULT_LABEL_DELAY_US, ProfileState

__all__ = [
    "DEFAULT_ISSUER_COUNTRY",
    "DEFAULT_LABEL_DELAY_US",
    "DESCRIPTIONS",
    "FEATURE_INDEX",
    "FEATURE_NAMES",
    "N_FEATURES",
    "WINDOWS_US",
    "Encoded",
    "ProfileState",
    "Vocabulary",
    "from_us",
    "to_us",
]
