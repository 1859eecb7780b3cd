"""Event time as the kernel counts it: int64 microseconds since the Unix epoch, UTC.

Why integers: windows are compared to the microsecond, the same way in a replay of Arrow
timestamps (already int64 µs) and in the live path (a ``datetime`` per request); floats would
make a boundary case land differently in the two.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["US_PER_DAY", "US_PER_HOUR", "from_us", "to_us"]

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(when: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is UTC (as in the transactions file).

    >>> to_us(datetime(1970, 1, 1, 0, 0, 1))
    1000000
    >>> to_us(datetime(2024, 5, 1, tzinfo=UTC)) == to_us(datetime(2024, 5, 1))
    True
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """The aware UTC datetime of a microsecond count.

    >>> from_us(1_000_000)
    datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc)
    """
    return _EPOCH + timedelta(microseconds=int(us))
