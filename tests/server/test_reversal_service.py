"""A reversal through the service (store marked reversed, then the profiles) lowers the card's
velocity for its next payment; a second reversal changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cardwatch.engine import Engine
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Transaction
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore

START = datetime(2024, 3, 1, 12, tzinfo=UTC)
COUNT_1H = FEATURE_INDEX["card_txn_count_1h"]


def _txn(i: int) -> Transaction:
    return Transaction(
        txn_id=f"t{i}",
        timestamp=START + timedelta(minutes=i),
        card_id="card-1",
        amount=25.0,
        merchant_id="m-1",
    )


def test_reversal_lowers_the_next_payments_count() -> None:
    engine = Engine()
    service = AuthorisationService(engine, MemoryStore(), secret_key=b"secret")
    for i in range(3):
        service.authorise(_txn(i), iso_key=f"card-1|{i:06d}|rrn{i}|0301120{i}00")
    assert engine.evaluate(_txn(3)).features[COUNT_1H] == 3

    assert service.reverse(iso_key="card-1|000001|rrn1|0301120100")
    reversed_ids = {
        r.decision.txn_id for r in service.store.decisions_for_card("card-1", 10) if r.reversed
    }
    assert reversed_ids == {"t1"}
    assert engine.evaluate(_txn(3)).features[COUNT_1H] == 2

    assert not service.reverse(
        iso_key="card-1|000001|rrn1|0301120100"
    )  # already reversed: nothing twice
    assert not service.reverse(iso_key="card-1|000009|rrn9|0301120900")  # no such original
    assert engine.evaluate(_txn(3)).features[COUNT_1H] == 2
    service.authorise(_txn(3), iso_key="card-1|000003|rrn3|0301120300")
    assert engine.evaluate(_txn(4)).features[COUNT_1H] == 3
