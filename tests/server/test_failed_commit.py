"""A decision whose commit fails leaves no trace in the profiles' velocity windows: the payment
is taken back out before the request fails, and over ISO 8583 the failure is answered by the
stand-in policy (the contract's answer when the issuer cannot decide: ``91`` above the floor)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.server.iso.helpers import KEY, TXN, VISA
from tests.server.stores import KINDS, opened

from cardwatch.engine import Engine
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Transaction
from cardwatch.server.iso import IsoClient, IsoListener, StandInPolicy
from cardwatch.server.iso_handler import ServiceHandler
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore

START = datetime(2024, 3, 1, 12, tzinfo=UTC)
CARD_1H = FEATURE_INDEX["card_txn_count_1h"]
CARD_SUM_1H = FEATURE_INDEX["card_amount_sum_1h"]
MERCHANT_24H = FEATURE_INDEX["merchant_txn_count_24h"]


def _txn(i: int, amount: float = 25.0) -> Transaction:
    return Transaction(f"t{i}", START + timedelta(minutes=i), "card-1", amount, "m-1")


class FailingStore(MemoryStore):
    """Fails the commits of the transactions named in ``failing`` (one by one, as a store
    without ``record_decisions`` is called), or every batch while ``down``."""

    def __init__(self, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__()
        self.failing = set(failing)
        self.down = False

    def record_decision(self, decision: Any, txn: Transaction, *a: Any, **k: Any) -> Any:
        if self.down or txn.txn_id in self.failing:
            raise OSError("disk full")
        return super().record_decision(decision, txn, *a, **k)


def _velocity(engine: Engine, txn: Transaction) -> tuple[float, float, float]:
    x = engine.evaluate(txn).features
    return float(x[CARD_1H]), float(x[CARD_SUM_1H]), float(x[MERCHANT_24H])


def test_a_failed_commit_takes_the_payment_out_of_the_windows() -> None:
    engine = Engine()
    service = AuthorisationService(engine, FailingStore({"t1"}), secret_key=b"s")
    service.authorise(_txn(0))
    with pytest.raises(OSError, match="disk full"):
        service.authorise(_txn(1, amount=700.0))
    service.authorise(_txn(2))
    # As if t1 had never been seen: two payments of 25 in the card's and merchant's hour.
    assert _velocity(engine, _txn(3)) == pytest.approx((2.0, 50.0, 2.0))
    reference = Engine()
    for i in (0, 2):
        reference.update(_txn(i), reference.decide(_txn(i)))
    assert _velocity(engine, _txn(3)) == pytest.approx(_velocity(reference, _txn(3)))
    # The same payment tried again once the store is back is counted once.
    service.store.failing.clear()  # type: ignore[attr-defined]
    assert not service.authorise(_txn(1, amount=700.0)).replayed
    assert _velocity(engine, _txn(3)) == pytest.approx((3.0, 750.0, 3.0))


def test_a_failed_batch_is_undone_whole() -> None:
    class FailingBatches(FailingStore):
        def record_decisions(self, records: list[dict[str, Any]]) -> list[Any]:
            if self.down:
                raise OSError("disk full")
            return [self.record_decision(**r) for r in records]

    engine = Engine()
    store = FailingBatches()
    service = AuthorisationService(engine, store, secret_key=b"s")
    service.authorise(_txn(0))
    store.down = True
    pendings = [service.begin_authorise(_txn(i)) for i in (1, 2, 3)]
    for pending in pendings:
        with pytest.raises(OSError):
            pending.result(10)
    assert _velocity(engine, _txn(4)) == pytest.approx((1.0, 25.0, 1.0))


class FailingSql(SqlStore):
    """A SQL store whose batch commits fail while ``down``."""

    down = False

    def record_decisions(self, records: Any) -> Any:
        if self.down:
            raise OSError("disk full")
        return super().record_decisions(records)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "memory"])
def test_a_failed_sql_commit_is_undone(kind: str, tmp_path: Any) -> None:
    engine = Engine()
    with opened(kind, tmp_path, FailingSql) as store:
        assert isinstance(store, FailingSql)
        service = AuthorisationService(engine, store, secret_key=b"s")
        service.authorise(_txn(0))
        store.down = True
        with pytest.raises(OSError):
            service.authorise(_txn(1, amount=700.0))
        store.down = False
        service.authorise(_txn(2))
        assert store.find_decision_by_key("txn:t1") is None
        assert _velocity(engine, _txn(3)) == pytest.approx((2.0, 50.0, 2.0))


def test_a_failed_commit_over_iso_is_answered_by_stand_in_and_undone() -> None:
    engine = Engine()
    store = FailingStore()
    service = AuthorisationService(engine, store, secret_key=b"s")

    async def scenario() -> None:
        listener = IsoListener(
            ServiceHandler(service), KEY, "127.0.0.1", 0, timeout_s=3.0, stand_in=StandInPolicy()
        )
        async with listener, IsoClient("127.0.0.1", listener.port, timeout_s=5) as client:
            _, first = await client.authorise(TXN, VISA)
            assert first["39"] == "00"
            store.down = True
            later = {**TXN, "amount": 420.0, "timestamp": TXN["timestamp"] + timedelta(minutes=1)}
            _, failed = await client.authorise(later, VISA)
            assert failed["39"] == "91"  # the stand-in policy: above its floor, issuer inoperative
            assert listener.counters.stand_in_error == 1
            store.down = False

    asyncio.run(scenario())
    (record,) = store.decisions_for_card(next(iter(engine.state.cards.codes)), 10)
    probe = Transaction(
        "probe",
        TXN["timestamp"] + timedelta(minutes=2),
        record.card_id,
        1.0,
        TXN["merchant_id"],
    )
    assert _velocity(engine, probe) == pytest.approx((1.0, TXN["amount"], 1.0))
