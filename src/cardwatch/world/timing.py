"""When people pay: hour-of-day profiles per activity, weekday and season factors, and the
conversion of a local time (a day and an hour where the payment happened) to UTC.

Profiles are drawn in local time because shops open at local hours; the stored timestamp is UTC,
so a payment in New York at 14:00 and one in Paris at 20:00 can be the same instant.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from cardwatch.world.catalogue import KINDS

__all__ = ["day_factors", "sample_hours", "to_utc"]

_WEEKDAY_PROFILE = {  # relative weights of hours 0..23, local time
    "grocery": [0, 0, 0, 0, 0, 0, 0, .3, 1, 2, 3, 4, 4.5, 3.5, 2.5, 2.5, 3, 4.5, 5.5, 5, 3, 1, .2,
                0],
    "transit": [.1, 0, 0, 0, 0, .5, 2, 6, 8, 4, 2, 2, 2.5, 2, 2, 2.5, 4, 6, 6, 4, 2.5, 2, 1.5, .6],
    "fuel": [0, 0, 0, 0, 0, .2, 1, 3, 4, 3.5, 3, 3, 3, 3, 3, 3, 3.5, 4, 4, 3, 1.5, .6, .3, .1],
    "local": [.2, .1, 0, 0, 0, 0, .5, 2.5, 4, 3.5, 3, 3.5, 6, 5.5, 3, 2.5, 3, 3.5, 4, 4, 4.5, 3,
              1.5, .6],
    "retail": [0, 0, 0, 0, 0, 0, 0, 0, .3, 1.5, 3, 3.5, 4, 3.5, 3.5, 4, 4.5, 4.5, 4.5, 3.5, 1.5,
               .3, 0, 0],
    "web_domestic": [1, .6, .3, .2, .2, .3, .6, 1.5, 2.5, 3, 3, 3.2, 3.5, 3.2, 3, 3, 3, 3.2, 3.5,
                     4, 5, 5.5, 4.5, 2.5],
    "web_foreign": [1.5, 1, .6, .5, .5, .6, 1, 2, 3, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5,
                    3.5, 4, 4.5, 4.5, 3.5, 2.5],
    "atm": [.2, .1, .05, 0, 0, .1, .3, 1, 2, 3, 3.5, 4, 4.5, 3.5, 3, 3, 3.5, 4, 4.5, 4, 3, 2, 1,
            .5],
}  # fmt: skip
# Mondays .. Sundays: Friday and Saturday are busy, Sunday quiet (shops close in France).
_DOW = np.array([0.95, 0.95, 1.0, 1.0, 1.15, 1.25, 0.6])


def _cum(profile: np.ndarray) -> np.ndarray:
    c = np.cumsum(profile)
    return c / c[-1]


def _profiles() -> tuple[np.ndarray, np.ndarray]:
    """Cumulative hour distributions per kind, for weekdays and weekends."""
    wk = np.array([_WEEKDAY_PROFILE[k] for k in KINDS], dtype=float)
    we = 0.5 * (wk + np.roll(wk, 1, axis=1))  # weekends start an hour later
    we[KINDS.index("transit")] = np.convolve(wk[KINDS.index("transit")], np.ones(5) / 5, "same")
    return np.apply_along_axis(_cum, 1, wk), np.apply_along_axis(_cum, 1, we)


_CUM_WEEKDAY, _CUM_WEEKEND = _profiles()


def day_factors(start: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Per day: the activity multiplier (weekday, pre-Christmas rush) and a weekend flag.

    >>> f, we = day_factors(date(2025, 12, 6), 2)   # a Saturday in the Christmas rush
    >>> bool(we[0]), round(float(f[0]), 4)
    (True, 1.4375)
    """
    factor = np.empty(days)
    weekend = np.empty(days, dtype=bool)
    for d in range(days):
        day = start + timedelta(days=d)
        christmas = (day.month == 11 and day.day >= 24) or (day.month == 12 and day.day <= 24)
        rush = 1.15 if christmas else 1.0
        factor[d] = _DOW[day.weekday()] * rush
        weekend[d] = day.weekday() >= 5
    return factor, weekend


_BINS = 4096
#: Inverse CDFs on a fine grid, per (kind, weekend): one gather per row instead of a search.
_HOUR_LUT = np.stack(
    [
        np.searchsorted(table[k], (np.arange(_BINS) + 0.5) / _BINS, side="right")
        for k in range(len(KINDS))
        for table in (_CUM_WEEKDAY, _CUM_WEEKEND)
    ]
).astype(np.int8)


def sample_hours(
    kind: np.ndarray, weekend: np.ndarray, shift: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Local hour (0..23) for each row from its activity's profile, moved by the card's habit.

    >>> h = sample_hours(np.zeros(1000, np.int8), np.zeros(1000, bool), np.zeros(1000, np.int8),
    ...                  np.random.default_rng(0))
    >>> int(h.min()) >= 7, int(h.max()) <= 22
    (True, True)
    """
    group = kind.astype(np.int64) * 2 + weekend
    pos = (rng.random(len(kind), dtype=np.float32) * _BINS).astype(np.int64)
    hour = _HOUR_LUT[group, np.minimum(pos, _BINS - 1)]
    return np.clip(hour.astype(np.int64) + shift, 0, 23)


def to_utc(
    epoch0: int,
    day: np.ndarray,
    seconds_of_day: np.ndarray,
    zone: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """UTC seconds for local (day, second of day) in each row's zone.

    >>> offsets = np.array([[3600]])
    >>> int(to_utc(0, np.array([0]), np.array([7200]), np.array([0]), offsets)[0])
    3600
    """
    d = np.clip(day, 0, offsets.shape[1] - 1)
    return epoch0 + day.astype(np.int64) * 86_400 + seconds_of_day - offsets[zone, d]
