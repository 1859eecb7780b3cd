"""``POST /v1/authorizations``: the contract's authorisation over HTTP.

The handler runs on the event loop, and so does the decision itself (a lock around the
pending-key check, decide and the profile update) when the service can take it without asking the
store (:meth:`AuthorisationService.try_begin_authorise`: nearly always); a key that may have been
decided before goes to the thread pool, where the store is asked. The commit that stores the
decision is awaited without holding a thread, so that concurrent requests are committed together
(group commit).
Its dependencies are plain functions called here rather than FastAPI dependencies, each of which
would cost a hop through the thread pool per request; the answer is written as JSON directly.
The route is what the API documents and what answers a request that is not plainly valid; a valid
one is answered before FastAPI's routing by :mod:`cardwatch.server.http.direct`, through the same
:func:`authorise`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from cardwatch.pan import card_key, mask
from cardwatch.schema import Decision, Transaction
from cardwatch.server.http.deps import Services, _api_key
from cardwatch.server.http.models import AuthorizationRequest, DecisionAnswer
from cardwatch.service import KeyReusedError

router = APIRouter(prefix="/v1", tags=["authorizations"])
log = logging.getLogger(__name__)

NOT_STORED = (
    "the decision could not be stored, so none was made: nothing was approved and the payment "
    "is not counted; send it again with the same Idempotency-Key, or apply your stand-in policy"
)


def answer_json(decision: Decision) -> bytes:
    """The answer (:class:`DecisionAnswer`'s fields) as JSON, without building the model."""
    return json.dumps(
        {
            "decision_id": decision.decision_id,
            "txn_id": decision.txn_id,
            "action": decision.action.value,
            "response_code": decision.response_code,
            "score": round(float(decision.score), 6),
            "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons],
        },
        separators=(",", ":"),
    ).encode()


def _txn_id(body: AuthorizationRequest, key: str | None) -> str:
    if body.txn_id:
        return body.txn_id
    if key:  # a retry without a txn_id must still name the same transaction
        return "h-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return "h-" + uuid.uuid4().hex


@router.post("/authorizations", response_model=DecisionAnswer)
async def create_authorization(
    body: AuthorizationRequest,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Approve, challenge or decline one payment, with reasons; retries get the same answer."""
    services: Services = request.app.state.services
    _api_key(services, authorization)
    answer = await authorise(services, body, idempotency_key)
    return Response(answer, media_type="application/json")


async def authorise(
    services: Services, body: AuthorizationRequest, idempotency_key: str | None
) -> bytes:
    """The answer to a valid request, as JSON; :class:`HTTPException` 409 (key reused with a
    different payment), 422 or 503 otherwise.

    What the route does once FastAPI has checked the request, and what
    :class:`~cardwatch.server.http.direct.DirectAuthorisations` does without FastAPI.
    """
    card = card_key(body.pan, services.pan_key) if body.pan else str(body.card_id)
    fields = body.model_dump(exclude={"pan", "card_id", "txn_id", "timestamp"})
    txn = Transaction(
        txn_id=_txn_id(body, idempotency_key),
        timestamp=body.timestamp or services.service.clock(),
        card_id=card,
        **fields,
    )
    try:
        key = f"http:{idempotency_key}" if idempotency_key else None
        label = mask(body.pan) if body.pan else None
        service = services.service
        pending = service.try_begin_authorise(txn, idempotency_key=key, card_label=label)
        if pending is None:  # the store must be asked: off the loop
            pending = await run_in_threadpool(
                service.begin_authorise, txn, idempotency_key=key, card_label=label
            )
        result = await pending.wait()
    except KeyReusedError as e:
        # Stripe's rule: a key names one payment. Another payment under it is refused, never
        # decided and never answered with the first one's approval.
        field = what = "Idempotency-Key" if key else "txn_id"
        # The client sent a pan or a card_id; the service compared the card token.
        differ = ", ".join("card (pan or card_id)" if f == "card_id" else f for f in e.fields)
        log.info("authorisation %s refused: %s reused (%s)", txn.txn_id, what, differ)
        problem = (
            f"{what} reused with a different payment ({differ} differ from the payment first "
            f"sent with it); send a new payment with a new {what}"
        )
        raise HTTPException(409, [{"field": field, "problem": problem}]) from None
    except ValueError as e:  # e.g. a timestamp the profiles cannot place
        raise HTTPException(422, str(e)) from None
    except Exception as e:
        # The store refused the commit (disk full, database gone): the service has already
        # taken the payment back out of the profiles. An acquirer must hear "not decided, try
        # again" (503), as ISO 8583 hears the stand-in policy, never a bare 500.
        log.error("authorisation %s not stored: %s", txn.txn_id, type(e).__name__)
        raise HTTPException(503, NOT_STORED, headers={"Retry-After": "1"}) from None
    return answer_json(result.decision)
