"""The service rules out stored keys in memory: a new key is decided without asking the store
(so an event loop may decide it on its own thread), a retry — stored before a restart, or in
this process — is always looked up and answered as the first time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.server.stores import KINDS, opened

from cardwatch.engine import Engine
from cardwatch.schema import Transaction
from cardwatch.service import AuthorisationService
from cardwatch.store.keys import KeyFilter

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _txn(i: int) -> Transaction:
    return Transaction(f"t{i}", T0 + timedelta(seconds=i), "tok_a", 10.0 + i, "m1")


class _Counting:
    """Counts the key lookups made in this thread (the service's, not the writer thread's own
    inside ``record_decision``)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.lookups = 0
        original = store.find_decision_by_key
        mine = threading.get_ident()

        def find(*a: Any, **k: Any) -> Any:
            self.lookups += threading.get_ident() == mine
            return original(*a, **k)

        store.find_decision_by_key = find


@pytest.mark.parametrize("kind", KINDS)
def test_new_keys_skip_the_store_and_retries_are_looked_up(kind: str, tmp_path: Path) -> None:
    with opened(kind, tmp_path) as store:
        first = AuthorisationService(Engine(), store, secret_key=b"s")
        answered = first.authorise(_txn(0), iso_key="iso-0")
        first.authorise(_txn(1), idempotency_key="http:k1")

        # A restart: the new service knows the stored keys from the store itself.
        counted = _Counting(store)
        service = AuthorisationService(Engine(), store, secret_key=b"s")
        assert service.try_begin_authorise(_txn(0), iso_key="iso-0") is None
        assert service.try_begin_authorise(_txn(9), idempotency_key="http:k1") is None
        assert counted.lookups == 0
        again = service.authorise(_txn(0), iso_key="iso-0")
        assert again.replayed and again.decision == answered.decision
        # The retry repeats its payment (another one under the key is refused: test_key_reuse_*).
        assert service.authorise(_txn(1), idempotency_key="http:k1").replayed

        # A new key is decided at once, without a lookup; once stored, its retry is looked up.
        before = counted.lookups
        pending = service.try_begin_authorise(_txn(2), iso_key="iso-2")
        assert pending is not None
        fresh = pending.result(10)
        assert not fresh.replayed and counted.lookups == before
        assert service.try_begin_authorise(_txn(2), iso_key="iso-2") is None
        assert service.authorise(_txn(2), iso_key="iso-2").decision == fresh.decision


def test_a_retry_while_pending_waits_for_the_first_attempt() -> None:
    with opened("memory", Path(".")) as store:
        service = AuthorisationService(Engine(), store, secret_key=b"s")
        first = service.try_begin_authorise(_txn(3), idempotency_key="http:k3")
        second = service.try_begin_authorise(_txn(3), idempotency_key="http:k3")
        assert first is not None and second is not None
        assert second.result(10).replayed
        assert first.result(10).decision == second.result(10).decision


def test_the_filter_never_forgets_and_seldom_imagines() -> None:
    keys = KeyFilter(capacity=64)
    keys.update(f"key|{i}" for i in range(50_000))  # many layers past its first capacity
    assert all(f"key|{i}" in keys for i in range(50_000))
    assert sum(f"key|x{i}" in keys for i in range(50_000)) < 50_000 * 0.03
    assert len(keys) == 50_000
