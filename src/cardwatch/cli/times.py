"""Command-line times: ISO 8601 dates or date-times, UTC unless an offset is given."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

__all__ = ["parse_time", "parse_window"]


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


def parse_window(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` as the window [start, end), refused when it cannot hold a payment.

    Why: a reversed or empty window selects nothing, and a verb would answer "0 decisions" as if
    the history had been looked at; the user swapped two dates and should be told so.
    """
    t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
    if t0 is not None and t1 is not None and t0 >= t1:
        problem = "is after" if t0 > t1 else "is the same moment as"
        raise typer.BadParameter(
            f"--from {problem} --to ({start} / {end}): the window is [from, to), so --from "
            "must come first"
        )
    return t0, t1
