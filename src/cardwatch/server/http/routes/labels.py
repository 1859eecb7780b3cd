"""``POST /v1/labels``: chargebacks, cardholder reports and analyst verdicts as they arrive."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from cardwatch.engine import decision_id
from cardwatch.server.http.deps import ApiKey, Now, ServicesDep
from cardwatch.server.http.models import LabelRequest

router = APIRouter(prefix="/v1", tags=["labels"], dependencies=[ApiKey])


@router.post("/labels", status_code=202)
def create_label(body: LabelRequest, services: ServicesDep, now: Now) -> dict[str, str]:
    """Record what became known about a decided payment, and when."""
    record = services.store.decision_record(decision_id(body.txn_id))
    if record is None:
        raise HTTPException(404, f"txn_id {body.txn_id!r}: no decision for this transaction")
    reported = body.reported_at or now
    if reported < record.timestamp:
        raise HTTPException(422, "reported_at: before the transaction's timestamp")
    services.service.label(
        body.txn_id,
        record.card_id,
        record.merchant_id,
        body.is_fraud,
        reported,
        body.source,
        occurred_at=record.timestamp,
    )
    return {"txn_id": body.txn_id, "status": "recorded"}
