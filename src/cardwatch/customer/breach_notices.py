"""Proactive notices to the cards exposed by a breach, before their holders call.

Each exposed card gets a plain-words message (where and when it was exposed, what the issuer did)
and a signed "am I affected?" link, written to the outbox in batches: one transaction per batch,
so a breach of a million cards neither holds one enormous transaction nor leaves half a batch
behind. Each card is told once per breach: the store marks its exposure notified in the same
transaction as its message, so a second run — after a later analysis widened the window and
found more cards — tells only the cards added since, and two runs at once cannot both tell one
card. The breach's status becomes ``notified`` at the end of the first run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from cardwatch.customer.links import link_url, new_link, sign
from cardwatch.customer.notices import breach_notice
from cardwatch.errors import NotFoundError
from cardwatch.store.base import ConflictError, Store
from cardwatch.store.records import Exposure, OutboxDraft

__all__ = ["NOTIFIED", "enqueue_breach_notices"]

NOTIFIED = "notified"


def enqueue_breach_notices(
    store: Store,
    breach_id: str,
    *,
    key: bytes,
    now: datetime,
    base_url: str,
    what_we_did: str,
    merchant_name: str | None = None,
    exposures: Iterable[Exposure] | None = None,
    channel: str = "log",
    link_ttl: timedelta = timedelta(days=30),
    batch_size: int = 500,
    card_label_for: Callable[[Exposure], str | None] | None = None,
    tz: ZoneInfo | None = None,
) -> int:
    """Queue one notice per exposed card not yet told (default: all the breach's stored
    exposures, by rank); the number queued. ``ConflictError`` when the breach was already
    notified and none of the chosen cards is left to tell."""
    breach = store.get_breach(breach_id)
    if breach is None:
        raise NotFoundError(f"no breach {breach_id}")
    merchant = merchant_name or breach.merchant_id
    # The caller's exposures may be stale: the stored ones say who was told.
    stored = {e.card_id: e for e in store.exposures(breach_id)}
    chosen_all = exposures if exposures is not None else stored.values()
    untold = [
        e for e in chosen_all if e.card_id in stored and stored[e.card_id].notified_at is None
    ]
    if not untold and breach.status == NOTIFIED:
        raise ConflictError(f"breach {breach_id} was already notified")
    chosen = iter(untold)
    total = 0
    while batch := list(islice(chosen, batch_size)):
        notices = []
        for exposure in batch:
            link = new_link(
                "breach_check", exposure.card_id, {"breach_id": breach_id}, now, link_ttl
            )
            label = card_label_for(exposure) if card_label_for else None
            notice = breach_notice(
                merchant,
                breach.window_start,
                breach.window_end,
                what_we_did,
                link_url(base_url, sign(link, key)),
                card_label=label,
                tz=tz,
            )
            payload = {
                "subject": notice.subject,
                "text": notice.text,
                "links": notice.links,
                "breach_id": breach_id,
                "merchant_id": breach.merchant_id,
                "window_start": breach.window_start.isoformat(),
                "window_end": breach.window_end.isoformat(),
                "rank": exposure.rank,
            }
            draft = OutboxDraft(
                "breach_notice", exposure.card_id, payload, exposure.customer_id, channel
            )
            notices.append((draft, link))
        total += store.enqueue_exposure_notices(breach_id, notices, now)
    if breach.status != NOTIFIED:
        store.set_breach_status(breach_id, NOTIFIED)
    return total
