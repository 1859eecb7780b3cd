"""Between record dataclasses and table rows: the fields and the columns share their names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["as_record", "as_row"]

R = TypeVar("R")


def as_record(cls: type[R], row: Mapping[str, Any]) -> R:
    """Build a record dataclass from a row holding (at least) its fields.

    >>> from cardwatch.store.records import Exposure
    >>> as_record(Exposure, {"breach_id": "b", "card_id": "c", "risk": 0.5, "rank": 1,
    ...                      "customer_id": None, "notified_at": None, "added_at": None,
    ...                      "extra": "ignored"}).rank
    1
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names})


def as_row(record: Any, skip_none: Sequence[str] = ()) -> dict[str, Any]:
    """A record's fields as a row, leaving out the named fields when None (autoincrement ids).

    >>> from cardwatch.store.records import CaseEvent
    >>> from datetime import datetime, UTC
    >>> sorted(as_row(CaseEvent("c", datetime(2026, 1, 1, tzinfo=UTC), "ana", "note"),
    ...               skip_none=["event_id"]))
    ['at', 'case_id', 'details', 'kind', 'who']
    """
    row = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    for name in skip_none:
        if row.get(name) is None:
            row.pop(name, None)
    return row
