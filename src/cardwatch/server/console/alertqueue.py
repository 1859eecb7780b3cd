"""The alert queue, in the order analysts should work it.

Breach victims come first: a card known to be exposed at a point of compromise, with a fresh
alert, is the likeliest fraud and the likeliest to call. Then the model's score, then age (oldest
first, so nothing starves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cardwatch.store.base import Store
from cardwatch.store.records import Alert, Exposure

__all__ = ["QueueItem", "case_priority", "open_queue"]


@dataclass(frozen=True, slots=True)
class QueueItem:
    alert: Alert
    exposure: Exposure | None

    @property
    def breach_victim(self) -> bool:
        return self.exposure is not None

    def sort_key(self) -> tuple[int, float, datetime]:
        return (0 if self.breach_victim else 1, -(self.alert.score or 0.0), self.alert.created_at)


def case_priority(score: float | None, exposed: bool) -> int:
    """A case's priority (higher first): exposed cards above everything else.

    >>> case_priority(0.2, exposed=True) > case_priority(0.99, exposed=False)
    True
    """
    return 100 + round(50 * (score or 0.0)) if exposed else round(99 * (score or 0.0))


def open_queue(store: Store, limit: int = 200) -> list[QueueItem]:
    """Open alerts, breach victims first."""
    alerts = store.alerts(status="open", limit=max(limit * 5, 500))
    exposure_of: dict[str, Exposure | None] = {}
    items = []
    for alert in alerts:
        if alert.card_id not in exposure_of:
            exposures = store.exposures_of_card(alert.card_id)
            exposure_of[alert.card_id] = min(exposures, key=lambda e: e.rank, default=None)
        items.append(QueueItem(alert, exposure_of[alert.card_id]))
    items.sort(key=QueueItem.sort_key)
    return items[:limit]
