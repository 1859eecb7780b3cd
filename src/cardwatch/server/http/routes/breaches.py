"""``/v1/breaches``: the issuer's systems list breaches, page through their ranked exposure,
run the response, and — for the bank's own app, which has authenticated its cardholder — ask
"am I affected?" by card token.

The card check is no oracle for card thieves: it needs the issuer's API key, takes a card token
and refuses anything that looks like a card number, answers an unknown card exactly as a known
unexposed one, and is rate-limited per card and per client. Handlers are thin: the work is in
:mod:`cardwatch.respond`.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from cardwatch.errors import NotFoundError
from cardwatch.pan import pan_digits
from cardwatch.respond import check_card, respond
from cardwatch.server.daily import last_held
from cardwatch.server.http.deps import ApiKey, Now, ServicesDep
from cardwatch.server.http.models import UtcDateTime
from cardwatch.store.records import Breach

__all__ = ["RateLimiter", "RespondBody", "router"]

router = APIRouter(prefix="/v1/breaches", tags=["breaches"], dependencies=[ApiKey])


class RateLimiter:
    """At most ``limit`` hits per key within ``period`` seconds (a sliding window)."""

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str) -> bool:
        """Count a hit; True when it is over the limit."""
        now = self.clock()
        seen = self._seen[key]
        while seen and now - seen[0] > self.period:
            seen.popleft()
        seen.append(now)
        return len(seen) > self.limit

    def reset(self) -> None:
        self._seen.clear()


#: A cardholder checks a few times; a thief testing cards checks many. The bank's backend is one
#: client for all its customers, hence the far higher per-client limit.
per_card = RateLimiter(10, 60.0)
per_client = RateLimiter(600, 60.0)


class RespondBody(BaseModel):
    """Options of a response; ``as_of`` defaults to the last payment the service knows (imported
    or decided live: the response reads the store's payments and labels with the imported
    history). ``stores_only``: for a chain-level breach, only the stores with victims (default:
    as last responded, else every store of the chain). Responding again with a later ``as_of``
    updates the same breach."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    as_of: UtcDateTime | None = None
    notify: bool = True
    stores_only: bool | None = None


def _breach(b: Breach, exposed: int | None = None) -> dict[str, Any]:
    out = {
        "breach_id": b.breach_id,
        "merchant_id": b.merchant_id,
        "window_start": b.window_start,
        "window_end": b.window_end,
        "score": b.score,
        "status": b.status,
        "detected_at": b.detected_at,
        "evidence": b.evidence,
    }
    if exposed is not None:
        out["exposed_cards"] = exposed
    return out


def _get(services: ServicesDep, breach_id: str) -> Breach:
    breach = services.store.get_breach(breach_id)
    if breach is None:
        raise NotFoundError(f"no breach {breach_id}")
    return breach


@router.get("")
def read_breaches(services: ServicesDep, status: str | None = None) -> list[dict[str, Any]]:
    """Stored breaches, best score first."""
    return [_breach(b) for b in services.store.breaches(status)]


@router.get("/held")
def read_held(services: ServicesDep) -> dict[str, Any]:
    """The pairs of places the last detection run held as not yet told apart: no breach yet,
    but one of each pair is probably leaking (respond to either by its key, which is its
    ``place`` or ``rival``)."""
    last, held = last_held(services.store)
    return {"as_of": last.as_of.isoformat() if last is not None else None, "held": held}


@router.get("/{breach_id}")
def read_breach(breach_id: str, services: ServicesDep) -> dict[str, Any]:
    breach = _get(services, breach_id)
    return _breach(breach, len(services.store.exposures(breach_id)))


@router.get("/{breach_id}/exposure")
def read_exposure(
    breach_id: str,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The exposed cards by triage rank (1 first), a page at a time."""
    _get(services, breach_id)
    items = services.store.exposures(breach_id, limit=limit, offset=offset)
    return {
        "breach_id": breach_id,
        "total": len(services.store.exposures(breach_id)),
        "limit": limit,
        "offset": offset,
        "items": [
            {"rank": e.rank, "card_id": e.card_id, "customer_id": e.customer_id, "risk": e.risk}
            for e in items
        ],
    }


@router.post("/{breach_id}/respond")
def create_response(
    breach_id: str, services: ServicesDep, now: Now, body: RespondBody | None = None
) -> dict[str, Any]:
    """Respond to a stored breach or a detected suspect (key, merchant or chain name)."""
    body = body or RespondBody()
    result = respond(
        services.workspace,
        services.store,
        breach_id,
        now=now,
        as_of=body.as_of,
        notify=body.notify,
        base_url=services.service.base_url,
        key=services.actions.key,
        chain_wide=None if body.stores_only is None else not body.stores_only,
    )
    invalidate = getattr(services.service.engine.exposure, "invalidate", None)
    if callable(invalidate):
        invalidate()  # the engine tightens on the new exposure at once
    return result.summary()


@router.get("/{breach_id}/cards/{card_id}")
def read_card_check(
    breach_id: str, card_id: str, request: Request, services: ServicesDep, now: Now
) -> dict[str, Any]:
    """Whether a card was exposed ("am I affected?"), for the bank's own app, by token."""
    if card_id.isdigit() or pan_digits(card_id) is not None:
        raise HTTPException(422, "card_id: use the card's token, never a card number in a URL")
    client = request.client.host if request.client else "?"
    if per_client.hit(client) or per_card.hit(card_id):
        raise HTTPException(429, "too many checks; try again in a minute")
    return asdict(check_card(services.store, breach_id, card_id, now))
