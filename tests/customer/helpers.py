"""Builders shared by the customer tests."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from cardwatch.customer.control_cache import StoreControls
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine
from cardwatch.schema import Action, Decision, Reason, Transaction
from cardwatch.store.records import OutboxMessage, new_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = b"test-secret-key"
BASE = "https://bank.example/cw"


def txn(
    txn_id: str = "t1",
    amount: float = 80.0,
    merchant_id: str = "m_shoes",
    country: str | None = "US",
    channel: str | None = "ecommerce",
    currency: str = "EUR",
    at: datetime = T0,
) -> Transaction:
    return Transaction(
        txn_id=txn_id,
        timestamp=at,
        card_id="tok_card1",
        amount=amount,
        merchant_id=merchant_id,
        customer_id="cust1",
        currency=currency,
        merchant_name="Shoe Palace",
        merchant_country=country,
        channel=channel,
    )


def decided(controls: StoreControls, payment: Transaction) -> Decision:
    """What the live engine decides on ``payment`` with the card's controls (no model, no rules:
    only a control can stop it, and a payment they are silent on is approved without reasons)."""
    return Engine(controls=EngineControls(controls)).decide(payment)


def decline(txn_id: str = "t1", code: str = "59") -> Decision:
    return Decision(
        txn_id=txn_id,
        action=Action.DECLINE,
        response_code=code,
        score=0.91,
        reasons=[
            Reason("new_country", "First payment in this country."),
            Reason("amount_spike", "Far above this card's usual amount."),
        ],
        decision_id=new_id("dec"),
    )


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def message(payload: dict[str, object] | None = None, channel: str = "memory") -> OutboxMessage:
    return OutboxMessage(
        id=7,
        kind="decline",
        card_id="tok_card1",
        customer_id="cust1",
        payload=payload or {"subject": "We stopped a payment", "text": "Details", "to": "a@b.c"},
        channel=channel,
        status="pending",
        attempts=1,
        next_attempt_at=T0,
        created_at=T0,
    )
