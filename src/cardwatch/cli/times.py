"""Command-line times: ISO 8601 dates or date-times, UTC unless an offset is given."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

__all__ = ["parse_time"]


def parse_time(value: str | None, option: str) -> datetime | None:
    """``2018-08-08`` or ``2018-08-08T12:00:00+02:00`` as an aware datetime.

    >>> parse_time("2018-08-08", "--as-of").isoformat()
    '2018-08-08T00:00:00+00:00'
    """
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time", param_hint=option
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
