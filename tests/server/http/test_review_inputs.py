"""Reviewer's defects in what the API takes in: card numbers in stored free text, times without
an offset, labels from the future or for imported payments, grouped card numbers in ``pan``,
and an API key given without its ``Bearer`` scheme. Each check runs on both paths of
``POST /v1/authorizations``: the direct one (a plainly valid request) and FastAPI's route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import TEST_PANS
from tests.server.http.conftest import Clock

from cardwatch.pan import mask, tokenise
from cardwatch.schema import Transaction
from cardwatch.server.http import Services
from cardwatch.server.http.direct import DirectAuthorisations
from cardwatch.server.http.models import AuthorizationRequest, ControlBody
from cardwatch.server.http.routes.breaches import RespondBody
from cardwatch.store.history import History, transactions_table

PAYMENT = {"pan": TEST_PANS[0], "amount": 42.5, "currency": "EUR", "merchant_id": "m-1"}
PAN = TEST_PANS[2]  # 5555555555554444


class Downstream:
    """FastAPI's place behind the direct path: counts what reaches it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()
        self.calls += 1
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _decisions(services: Services) -> int:
    return len(services.store.decision_keys())  # type: ignore[attr-defined]


# -- 1. a card number in a stored free-text field -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("merchant_name", "4111 1111 1111 1111"),
        ("merchant_name", f"Shop {PAN}"),
        ("merchant_id", PAN),
        ("terminal_id", "5555-5555-5555-4444"),
        ("customer_id", f"cust-{PAN}"),
        ("txn_id", PAN),
    ],
)
def test_a_card_number_in_a_stored_text_is_refused_masked(
    client: TestClient, services: Services, field: str, value: str
) -> None:
    r = client.post("/v1/authorizations", json={**PAYMENT, field: value})
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["field"] == field and "card number" in problem["problem"]
    digits = value.replace(" ", "").replace("-", "")[-16:]
    assert mask(digits) in problem["problem"]
    assert digits not in r.text and value not in r.text
    assert _decisions(services) == 0
    # The direct path never answers it: FastAPI does, with the error above.
    downstream = Downstream()
    direct = TestClient(DirectAuthorisations(downstream, services))
    assert direct.post("/v1/authorizations", json={**PAYMENT, field: value}).status_code == 299
    assert downstream.calls == 1 and _decisions(services) == 0


def test_a_short_reference_number_is_not_taken_for_a_card(client: TestClient) -> None:
    """As the importer: a 12-digit RRN (Luhn-valid one time in ten) is a txn_id, not a PAN."""
    r = client.post("/v1/authorizations", json={**PAYMENT, "txn_id": "123456789015"})
    assert r.status_code == 200, r.text


def test_a_card_number_in_a_control_body_is_refused() -> None:
    with pytest.raises(ValueError, match="card number") as e:
        ControlBody(merchant_id=PAN)
    assert PAN not in str(e.value)


def test_a_label_for_a_card_number_is_refused_and_never_echoed(client: TestClient) -> None:
    r = client.post("/v1/labels", json={"txn_id": PAN, "is_fraud": True})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "txn_id"
    assert PAN not in r.text and mask(PAN) in r.text
    # Shaped like a card number but failing Luhn: not refused, but masked in the 404.
    typo = "4111111111111112"
    r = client.post("/v1/labels", json={"txn_id": typo, "is_fraud": True})
    assert r.status_code == 404 and typo not in r.text and mask(typo) in r.text
    r = client.post("/v1/labels", json={"txn_id": "t1", "is_fraud": True, "source": PAN})
    assert r.status_code == 422 and PAN not in r.text


# -- 2. times without an offset are UTC -----------------------------------------------------------


def test_times_without_an_offset_are_utc_everywhere() -> None:
    naive = "2026-11-24T13:40:00"
    utc = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
    body = AuthorizationRequest.model_validate({**PAYMENT, "timestamp": naive})
    assert body.timestamp == utc and body.timestamp.tzinfo is not None
    control = ControlBody.model_validate({"valid_from": naive, "valid_to": naive})
    assert control.valid_from == utc and control.valid_to == utc
    assert RespondBody.model_validate({"as_of": naive}).as_of == utc
    paris = AuthorizationRequest.model_validate({**PAYMENT, "timestamp": naive + "+01:00"})
    assert paris.timestamp == utc - timedelta(hours=1)  # an offset given is kept


def test_a_naive_timestamp_and_report_time_are_decided_and_labelled(
    client: TestClient, services: Services
) -> None:
    r = client.post(
        "/v1/authorizations", json={**PAYMENT, "txn_id": "t-naive", "timestamp": "2026-03-01T12:00"}
    )
    assert r.status_code == 200, r.text
    record = services.store.decision_record(r.json()["decision_id"])
    assert record is not None and record.timestamp == datetime(2026, 3, 1, 12, tzinfo=UTC)
    label = {"txn_id": "t-naive", "is_fraud": True, "reported_at": "2026-03-02T11:00:00"}
    r = client.post("/v1/labels", json=label)
    assert r.status_code == 202, r.text
    [stored] = services.store.labels_known_at(datetime(2026, 3, 3, tzinfo=UTC))
    assert stored.reported_at == datetime(2026, 3, 2, 11, tzinfo=UTC)


# -- 3. labels: not from the future; for imported payments too -------------------------------------


def test_a_label_reported_in_the_future_is_refused(
    client: TestClient, services: Services, clock: Clock
) -> None:
    txn = client.post("/v1/authorizations", json=PAYMENT).json()["txn_id"]
    late = {"txn_id": txn, "is_fraud": True, "reported_at": "2030-01-01T00:00:00Z"}
    r = client.post("/v1/labels", json=late)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "reported_at"
    assert services.store.labels_known_at(datetime(9999, 1, 1, tzinfo=UTC)) == []
    skewed = (clock.now + timedelta(minutes=2)).isoformat()  # a clock a little fast
    ok = client.post("/v1/labels", json={**late, "reported_at": skewed})
    assert ok.status_code == 202, ok.text


def test_a_payment_imported_before_go_live_can_be_labelled(
    client: TestClient, services: Services
) -> None:
    """A chargeback for a payment known only from the imported history is recorded against
    it (its card and merchant from the history), not refused with "no decision"."""
    card = tokenise(TEST_PANS[1], services.pan_key)
    at = datetime(2026, 1, 10, 9, tzinfo=UTC)
    past = Transaction("hist-1", at, card, 80.0, "m-old")
    History(services.workspace).append(transactions_table([past]))
    r = client.post("/v1/labels", json={"txn_id": "hist-1", "is_fraud": True})
    assert r.status_code == 202, r.text
    [label] = services.store.labels_known_at(datetime(9999, 1, 1, tzinfo=UTC))
    assert (label.txn_id, label.card_id, label.is_fraud) == ("hist-1", card, True)
    early = {"txn_id": "hist-1", "is_fraud": True, "reported_at": "2026-01-01T00:00:00Z"}
    r = client.post("/v1/labels", json=early)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reported_at"
    assert client.post("/v1/labels", json={"txn_id": "nope", "is_fraud": True}).status_code == 404


# -- 4. a grouped card number in ``pan`` ----------------------------------------------------------


@pytest.mark.parametrize("grouped", ["4000 0566 5566 5556", "4000-0566-5566-5556"])
def test_a_grouped_pan_is_the_same_card_on_both_paths(
    client: TestClient, services: Services, grouped: str
) -> None:
    token = tokenise("4000056655665556", services.pan_key)
    r = client.post("/v1/authorizations", json={**PAYMENT, "pan": grouped, "txn_id": "g1"})
    assert r.status_code == 200, r.text
    record = services.store.decision_record(r.json()["decision_id"])
    assert record is not None and record.card_id == token
    downstream = Downstream()
    direct = TestClient(DirectAuthorisations(downstream, services))
    r = direct.post("/v1/authorizations", json={**PAYMENT, "pan": grouped, "txn_id": "g2"})
    assert r.status_code == 200 and downstream.calls == 0
    assert (
        client.post(
            "/v1/authorizations", json={**PAYMENT, "pan": "4000 0566 5566 5557"}
        ).status_code
        == 422
    )


# -- 5. the API key only as ``Bearer <key>`` -----------------------------------------------------


def test_the_api_key_needs_its_bearer_scheme_on_both_paths(
    client: TestClient, services: Services
) -> None:
    services.api_key = "s3cret"
    downstream = Downstream()
    direct = TestClient(DirectAuthorisations(downstream, services))
    for header in ("s3cret", "Basic s3cret", "Bearer", "Bearer s3cre", "Bearers3cret"):
        h = {"Authorization": header}
        assert client.post("/v1/authorizations", json=PAYMENT, headers=h).status_code == 401
        assert direct.post("/v1/authorizations", json=PAYMENT, headers=h).status_code == 299
        assert (
            client.post("/v1/labels", json={"txn_id": "x", "is_fraud": True}, headers=h).status_code
            == 401
        )
    for header in ("Bearer s3cret", "bearer s3cret", "BEARER  s3cret"):
        h = {"Authorization": header}
        assert client.post("/v1/authorizations", json=PAYMENT, headers=h).status_code == 200
        assert client.get("/v1/breaches", headers=h).status_code == 200
