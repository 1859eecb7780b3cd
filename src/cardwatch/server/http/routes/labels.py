"""``POST /v1/labels``: chargebacks, cardholder reports and analyst verdicts as they arrive.

A label names a payment the service knows: one it decided (the store's decision) or one
imported with the workspace's history before go-live (chargebacks for those keep arriving for
months). Either way it goes to the store's labels, which breach detection, exposure and triage
lay over the history by ``txn_id`` (:class:`~cardwatch.live_history.LiveHistory`), and a fraud
to the merchant's profile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
from fastapi import APIRouter, HTTPException

from cardwatch.engine import decision_id
from cardwatch.pan import safe_text
from cardwatch.server.http.deps import ApiKey, Now, Services, ServicesDep
from cardwatch.server.http.models import LabelRequest
from cardwatch.store.history import History

__all__ = ["CLOCK_SKEW", "router"]

router = APIRouter(prefix="/v1", tags=["labels"], dependencies=[ApiKey])

#: How far ahead of the service's clock a report time may be: the reporting system's clock may
#: run a little fast; a report later than that has not happened yet, and a label "known" from
#: a future time would be hidden from every analysis until then, or mislead one made after.
CLOCK_SKEW = timedelta(minutes=5)


def _problem(status: int, field: str, problem: str) -> HTTPException:
    """The API's error shape (``app._problem``): the field and what is wrong with it."""
    return HTTPException(status, [{"field": field, "problem": problem}])


def _payment(services: Services, txn_id: str) -> tuple[str, str, datetime] | None:
    """``(card_id, merchant_id, timestamp)`` of the payment ``txn_id``: decided by the service,
    else imported into the workspace's history; None when neither knows it.

    The history is asked only when the store has no decision: a scan of its Parquet files by
    ``txn_id``, affordable for labels (a trickle beside authorisations), and read afresh, so
    that a history imported while the service runs is seen.
    """
    record = services.store.decision_record(decision_id(txn_id))
    if record is not None:
        return record.card_id, record.merchant_id, record.timestamp
    history = History(services.workspace)
    if history.is_empty():
        return None
    with history.connect() as con:
        con.register("wanted", pa.table({"txn_id": pa.array([txn_id], pa.string())}))
        found = con.sql(
            "SELECT card_id, merchant_id, timestamp FROM raw_transactions "
            "JOIN wanted USING (txn_id) ORDER BY timestamp LIMIT 1"
        ).to_arrow_table()
    if found.num_rows == 0:
        return None
    row = found.to_pylist()[0]
    return row["card_id"], row["merchant_id"], row["timestamp"]


@router.post("/labels", status_code=202)
def create_label(body: LabelRequest, services: ServicesDep, now: Now) -> dict[str, str]:
    """Record what became known about a decided or imported payment, and when."""
    reported = body.reported_at or now
    if reported > now + CLOCK_SKEW:
        raise _problem(
            422,
            "reported_at",
            f"later than the service's clock ({now.isoformat()}, {CLOCK_SKEW} tolerance): "
            "a label is reported once it is known",
        )
    payment = _payment(services, body.txn_id)
    if payment is None:
        # ``safe_text``: a txn_id shaped like a card number is masked even when it fails Luhn
        # (the model refuses a Luhn-valid one).
        raise _problem(
            404,
            "txn_id",
            f"{safe_text(body.txn_id)!r}: no decision and no imported payment with this txn_id",
        )
    card_id, merchant_id, occurred = payment
    if reported < occurred:
        raise _problem(422, "reported_at", "before the transaction's timestamp")
    services.service.label(
        body.txn_id,
        card_id,
        merchant_id,
        body.is_fraud,
        reported,
        body.source,
        occurred_at=occurred,
    )
    return {"txn_id": body.txn_id, "status": "recorded"}
