"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime

from cardwatch.schema import Action, Decision, Reason, Transaction

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def txn(txn_id: str = "t1", card_id: str = "tok_card1", amount: float = 42.5) -> Transaction:
    return Transaction(
        txn_id=txn_id,
        timestamp=T0,
        card_id=card_id,
        amount=amount,
        merchant_id="m_books",
        customer_id="cust1",
        currency="EUR",
        merchant_name="Corner Books",
        merchant_country="FR",
        channel="ecommerce",
    )


def decline(txn_id: str = "t1") -> Decision:
    return Decision(
        txn_id=txn_id,
        action=Action.DECLINE,
        response_code="59",
        score=0.93,
        reasons=[Reason("amount_spike", "Far above this card's usual amount")],
    )
