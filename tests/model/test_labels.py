from __future__ import annotations

import numpy as np
import pandas as pd

from cardwatch.model import time_window, training_labels


def test_only_labels_reported_by_as_of_count() -> None:
    is_fraud = np.array([1, 1, 1, 0, 1])
    reported = pd.to_datetime(
        ["2024-03-01 10:00", "2024-03-05 00:00", "2024-03-05 00:00:01", None, None],
        utc=True,
        format="ISO8601",
    )
    labels = training_labels(is_fraud, reported, "2024-03-05T00:00:00Z")
    assert labels.tolist() == [1, 1, 0, 0, 0]
    assert labels.dtype == np.int8


def test_zone_naive_times_are_utc() -> None:
    reported = np.array(["2024-03-05T00:30"], dtype="datetime64[ns]")
    as_of = pd.Timestamp("2024-03-05T01:00", tz="Europe/Paris")  # = 00:00 UTC
    assert training_labels(np.array([1]), reported, as_of).tolist() == [0]


def test_time_window_is_half_open() -> None:
    ts = pd.to_datetime(
        ["2018-07-25", "2018-07-31 23:59", "2018-08-01"], utc=True, format="ISO8601"
    )
    assert time_window(ts, "2018-07-25", "2018-08-01").tolist() == [True, True, False]
    assert time_window(ts).tolist() == [True, True, True]
