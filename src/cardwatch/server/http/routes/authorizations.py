"""``POST /v1/authorizations``: the contract's authorisation over HTTP."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException

from cardwatch.pan import card_key, mask
from cardwatch.schema import Decision, Transaction
from cardwatch.server.http.deps import ApiKey, Now, ServicesDep
from cardwatch.server.http.models import AuthorizationRequest, DecisionAnswer, ReasonBody

router = APIRouter(prefix="/v1", tags=["authorizations"], dependencies=[ApiKey])


def answer(decision: Decision) -> DecisionAnswer:
    return DecisionAnswer(
        decision_id=decision.decision_id,
        txn_id=decision.txn_id,
        action=decision.action.value,
        response_code=decision.response_code,
        score=round(float(decision.score), 6),
        reasons=[ReasonBody(code=r.code, message=r.message) for r in decision.reasons],
    )


def _txn_id(body: AuthorizationRequest, key: str | None) -> str:
    if body.txn_id:
        return body.txn_id
    if key:  # a retry without a txn_id must still name the same transaction
        return "h-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return "h-" + uuid.uuid4().hex


@router.post("/authorizations", response_model=DecisionAnswer)
def create_authorization(
    body: AuthorizationRequest,
    services: ServicesDep,
    now: Now,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> DecisionAnswer:
    """Approve, challenge or decline one payment, with reasons; retries get the same answer."""
    card = card_key(body.pan, services.pan_key) if body.pan else str(body.card_id)
    fields = body.model_dump(exclude={"pan", "card_id", "txn_id", "timestamp"})
    txn = Transaction(
        txn_id=_txn_id(body, idempotency_key),
        timestamp=body.timestamp or now,
        card_id=card,
        **fields,
    )
    try:
        result = services.service.authorise(
            txn,
            idempotency_key=f"http:{idempotency_key}" if idempotency_key else None,
            card_label=mask(body.pan) if body.pan else None,
        )
    except ValueError as e:  # e.g. a timestamp the profiles cannot place
        raise HTTPException(422, str(e)) from None
    return answer(result.decision)
