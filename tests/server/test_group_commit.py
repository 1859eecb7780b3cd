"""The service's group commit: answers only after the commit that holds them, decisions stored
in the order they were taken, one decision per key however the attempts interleave."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from cardwatch.engine import Engine
from cardwatch.schema import Transaction
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _txn(i: int, card: str = "tok_a") -> Transaction:
    return Transaction(f"t{i}", T0 + timedelta(seconds=i), card, 10.0 + i, "m1")


class GatedStore(MemoryStore):
    """A store whose commits wait for the test to open the gate, counting batches."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def record_decisions(self, records: list[dict[str, Any]]) -> list[Any]:
        self.entered.set()
        assert self.gate.wait(10)
        self.batches.append([r["txn"].txn_id for r in records])
        return [self.record_decision(**r) for r in records]


class CountingEngine(Engine):
    def __init__(self) -> None:
        super().__init__()
        self.updated: list[str] = []

    def update(self, txn: Transaction, decision: Any = None) -> None:
        self.updated.append(txn.txn_id)
        super().update(txn, decision)


def _until(condition: Any) -> None:
    ready = threading.Event()
    for _ in range(1000):
        if condition():
            return
        ready.wait(0.01)
    raise AssertionError("never happened")


def test_answers_wait_for_the_commit_and_share_it() -> None:
    store = GatedStore()
    engine = CountingEngine()
    service = AuthorisationService(engine, store, secret_key=b"s")
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(service.authorise, _txn(0))
        assert store.entered.wait(10)  # the first commit is under way, held at the gate
        rest = []
        for i in range(1, 6):  # one after the other: each decided and folded in, not answered
            rest.append(pool.submit(service.authorise, _txn(i)))
            _until(lambda i=i: len(engine.updated) == i + 1)
        retry = pool.submit(service.authorise, _txn(3))  # the same key while it is pending
        assert not first.done() and not any(f.done() for f in rest)
        assert store.find_decision_by_key("txn:t1") is None
        store.gate.set()
        answers = [f.result(10) for f in [first, *rest]]
        again = retry.result(10)
    assert [a.decision.txn_id for a in answers] == [f"t{i}" for i in range(6)]
    assert not any(a.replayed for a in answers)
    assert again.replayed and again.decision == answers[3].decision
    assert engine.updated == [f"t{i}" for i in range(6)]  # once each, in order
    assert [t for batch in store.batches for t in batch] == [f"t{i}" for i in range(6)]
    assert len(store.batches) < 6  # the five that waited were committed together


def test_a_failed_commit_fails_its_requests() -> None:
    class Broken(MemoryStore):
        def record_decision(self, *a: Any, **k: Any) -> Any:
            raise OSError("disk full")

    service = AuthorisationService(Engine(), Broken(), secret_key=b"s")
    try:
        service.authorise(_txn(0))
    except OSError as exc:
        assert "disk full" in str(exc)
    else:
        raise AssertionError("the failed commit was answered")


def test_pending_answer_can_be_awaited() -> None:
    store = MemoryStore()
    service = AuthorisationService(Engine(), store, secret_key=b"s")

    async def scenario() -> None:
        pending = service.begin_authorise(_txn(0))
        done = await pending.wait()
        assert store.find_decision_by_key("txn:t0") == done.decision
        assert (await service.begin_authorise(_txn(0)).wait()).replayed

    asyncio.run(scenario())
