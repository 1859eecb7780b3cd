"""The service refuses a key (idempotency, txn_id or ISO retry key) that comes back with a
different payment, whether the first is stored (in each store) or still being committed; the
same payment under the same key still gets the first answer."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.server.stores import KINDS, opened
from tests.server.test_group_commit import GatedStore

from cardwatch.engine import Engine
from cardwatch.schema import Transaction
from cardwatch.service import AuthorisationService, KeyReusedError

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TXN = Transaction(
    "t1", T0, "tok_a", 12.5, "m1", currency="EUR", mcc="5942", terminal_id="T1", channel="moto"
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "change",
    [
        {"card_id": "tok_b", "amount": 999.0},
        {"amount": 12.51},
        {"currency": "USD"},
        {"merchant_id": "m2"},
        {"mcc": "6011"},  # a fact kept beside the decision, not in its own column
        {"txn_id": "t2"},
    ],
)
@pytest.mark.parametrize("keys", [{"idempotency_key": "http:k1"}, {"iso_key": "tok_a|1|2|3"}])
def test_a_stored_key_with_another_payment_is_refused(
    kind: str, change: dict[str, object], keys: dict[str, str], tmp_path: Path
) -> None:
    with opened(kind, tmp_path) as store:
        service = AuthorisationService(Engine(), store, secret_key=b"s")
        first = service.authorise(TXN, **keys)
        other = dataclasses.replace(TXN, **change)  # type: ignore[arg-type]
        with pytest.raises(KeyReusedError) as refused:
            service.authorise(other, **keys)
        assert set(refused.value.fields) == set(change)
        assert "tok_b" not in str(refused.value)  # names, never values
        # A fresh service (a restart: the key is only in the store) refuses it too.
        restarted = AuthorisationService(Engine(), store, secret_key=b"s")
        with pytest.raises(KeyReusedError):
            restarted.authorise(other, **keys)
        again = restarted.authorise(dataclasses.replace(TXN, timestamp=T0), **keys)
        assert again.replayed and again.decision == first.decision


def test_a_txn_id_reused_without_a_key_is_refused() -> None:
    service = AuthorisationService(Engine(), GatedStore(), secret_key=b"s")
    service.store.gate.set()  # type: ignore[attr-defined]
    service.authorise(TXN)
    with pytest.raises(KeyReusedError):
        service.authorise(dataclasses.replace(TXN, amount=999.0))


def test_a_pending_key_with_another_payment_is_refused() -> None:
    store = GatedStore()
    service = AuthorisationService(Engine(), store, secret_key=b"s")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(service.authorise, TXN, idempotency_key="http:k1")
        assert store.entered.wait(10)  # the first commit is under way, held at the gate
        with pytest.raises(KeyReusedError):
            service.authorise(dataclasses.replace(TXN, amount=999.0), idempotency_key="http:k1")
        retry = pool.submit(service.authorise, TXN, idempotency_key="http:k1")
        store.gate.set()
        assert retry.result(10).decision == first.result(10).decision
    assert len(store.decision_keys()) == 1


def test_a_retry_may_leave_out_the_details_but_not_change_them() -> None:
    service = AuthorisationService(Engine(), GatedStore(), secret_key=b"s")
    service.store.gate.set()  # type: ignore[attr-defined]
    first = service.authorise(TXN, idempotency_key="http:k1")
    bare = dataclasses.replace(TXN, mcc=None, terminal_id=None, channel=None)
    assert service.authorise(bare, idempotency_key="http:k1").decision == first.decision
    with pytest.raises(KeyReusedError):
        service.authorise(dataclasses.replace(TXN, channel="ecommerce"), idempotency_key="http:k1")
