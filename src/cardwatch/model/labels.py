"""What the model may learn from at a moment: labels known then, rows in a time window.

Why: a fraud is known only when it is reported (chargeback, cardholder call), often days after
the payment. Training at ``as_of`` on labels reported later is peeking into the future: the
model looks better in a backtest than it can ever be live. So a fraud reported after ``as_of``
counts as honest (it is not known yet), exactly as it would have in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import numpy as np
import pandas as pd

__all__ = ["time_window", "training_labels"]

TimeLike: TypeAlias = datetime | np.datetime64 | pd.Timestamp | str


def _ts(t: TimeLike) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _series(timestamps: np.ndarray | pd.Series) -> pd.Series:
    s = pd.Series(timestamps)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, utc=True, format="ISO8601")
    elif s.dt.tz is None:
        s = s.dt.tz_localize("UTC")
    return s


def training_labels(
    is_fraud: np.ndarray | pd.Series,
    fraud_reported_at: np.ndarray | pd.Series,
    as_of: TimeLike,
) -> np.ndarray:
    """Labels as known at ``as_of``: 1 for a fraud reported at or before it, else 0.

    Timestamps without a zone are UTC (as everywhere in cardwatch); a fraud with no report
    time counts as not yet known.

    >>> training_labels(
    ...     np.array([1, 1, 0, 1]),
    ...     np.array(["2024-01-02", "2024-01-09", None, None], dtype="datetime64[ns]"),
    ...     "2024-01-05",
    ... ).tolist()
    [1, 0, 0, 0]
    """
    fraud = np.nan_to_num(np.asarray(is_fraud, dtype=np.float64)) == 1
    reported = _series(fraud_reported_at)
    known = (reported <= _ts(as_of)).fillna(False).to_numpy(dtype=bool)
    return (fraud & known).astype(np.int8)


def time_window(
    timestamps: np.ndarray | pd.Series,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> np.ndarray:
    """Boolean mask of the rows with ``start <= timestamp < end`` (an open side when ``None``).

    >>> ts = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[ns]")
    >>> time_window(ts, "2024-01-02", "2024-01-03").tolist()
    [False, True, False]
    >>> time_window(ts, end="2024-01-03").tolist()
    [True, True, False]
    """
    s = _series(timestamps)
    mask = np.ones(len(s), dtype=bool)
    if start is not None:
        mask &= (s >= _ts(start)).to_numpy(dtype=bool)
    if end is not None:
        mask &= (s < _ts(end)).to_numpy(dtype=bool)
    return mask
