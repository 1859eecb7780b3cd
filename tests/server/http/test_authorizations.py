"""POST /v1/authorizations: the contract's answer, idempotent retries, 422s that name the field
and never echo a PAN."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import TEST_PANS

from cardwatch.pan import tokenise
from cardwatch.server.http import Services

PAYMENT = {
    "pan": TEST_PANS[0],
    "amount": 42.5,
    "currency": "EUR",
    "merchant_id": "m-1",
    "merchant_country": "FR",
    "channel": "ecommerce",
    "entry_mode": "ecommerce",
}


def test_answer_has_the_contract_fields(client: TestClient, services: Services) -> None:
    r = client.post("/v1/authorizations", json=PAYMENT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"decision_id", "txn_id", "action", "response_code", "score", "reasons"}
    assert body["action"] == "approve" and body["response_code"] == "00"
    assert 0.0 <= body["score"] <= 1.0
    stored = services.store.decision_record(body["decision_id"])
    assert stored is not None
    assert stored.card_id == tokenise(TEST_PANS[0], services.pan_key)


def test_retry_with_same_key_gets_the_same_answer(client: TestClient, services: Services) -> None:
    first = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "k1"})
    again = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "k1"})
    other = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "k2"})
    assert first.json() == again.json()
    assert other.json()["decision_id"] != first.json()["decision_id"]
    card = tokenise(TEST_PANS[0], services.pan_key)
    assert len(services.store.decisions_for_card(card, 10)) == 2


def test_invalid_input_names_the_field_and_hides_the_pan(client: TestClient) -> None:
    bad = {**PAYMENT, "pan": "4111111111111112", "amount": -1, "channel": "teleport"}
    r = client.post("/v1/authorizations", json=bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["detail"]}
    assert {"pan", "amount", "channel"} <= fields
    assert "4111111111111112" not in r.text
    both = client.post("/v1/authorizations", json={**PAYMENT, "card_id": "c1"})
    assert both.status_code == 422 and "exactly one" in both.text
    in_card_id = client.post(
        "/v1/authorizations", json={**PAYMENT, "pan": None, "card_id": TEST_PANS[1]}
    )
    assert in_card_id.status_code == 422 and TEST_PANS[1] not in in_card_id.text
    assert client.post("/v1/authorizations", content=b"{not json").status_code == 422


def test_frozen_card_is_declined_62_then_unfrozen(client: TestClient, services: Services) -> None:
    card = tokenise(TEST_PANS[0], services.pan_key)
    assert client.post(f"/v1/cards/{card}/freeze").status_code == 201
    r = client.post("/v1/authorizations", json=PAYMENT)
    assert (r.json()["action"], r.json()["response_code"]) == ("decline", "62")
    assert r.json()["reasons"]
    assert client.post(f"/v1/cards/{card}/unfreeze").json() == {"lifted": 1}
    assert client.post("/v1/authorizations", json=PAYMENT).json()["response_code"] == "00"


def test_cardholder_block_is_57_and_a_pan_in_the_url_is_refused(
    client: TestClient, services: Services
) -> None:
    card = tokenise(TEST_PANS[0], services.pan_key)
    r = client.post(f"/v1/cards/{card}/blocks", json={"countries": ["US"]})
    assert r.status_code == 201, r.text
    us = client.post("/v1/authorizations", json={**PAYMENT, "merchant_country": "US"})
    assert us.json()["response_code"] == "57"
    assert client.post("/v1/authorizations", json=PAYMENT).json()["response_code"] == "00"
    assert client.get(f"/v1/cards/{TEST_PANS[0]}/controls").status_code == 422


def test_labels_and_health_and_metrics(client: TestClient, services: Services) -> None:
    body = client.post("/v1/authorizations", json=PAYMENT).json()
    r = client.post("/v1/labels", json={"txn_id": body["txn_id"], "is_fraud": True})
    assert r.status_code == 202, r.text
    assert client.post("/v1/labels", json={"txn_id": "nope", "is_fraud": True}).status_code == 404
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200


def test_api_key_is_required_when_configured(client: TestClient, services: Services) -> None:
    services.api_key = "s3cret"
    assert client.post("/v1/authorizations", json=PAYMENT).status_code == 401
    ok = client.post("/v1/authorizations", json=PAYMENT, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_a_decision_the_store_cannot_keep_is_a_503_to_retry(
    client: TestClient, services: Services
) -> None:
    """A failed commit is answered "not decided, send it again" and the retry, once the store
    is back, is decided afresh: never a bare 500, never an approval nobody stored."""
    keep = services.store.record_decision

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    services.store.record_decision = disk_full  # type: ignore[method-assign]
    headers = {"Idempotency-Key": "k-full"}
    r = client.post("/v1/authorizations", json=PAYMENT, headers=headers)
    assert r.status_code == 503, r.text
    assert "Idempotency-Key" in r.json()["detail"] and r.headers["Retry-After"] == "1"
    assert TEST_PANS[0] not in r.text
    services.store.record_decision = keep  # type: ignore[method-assign]
    again = client.post("/v1/authorizations", json=PAYMENT, headers=headers)
    assert again.status_code == 200 and again.json()["action"] == "approve"
    card = tokenise(TEST_PANS[0], services.pan_key)
    assert len(services.store.decisions_for_card(card, 10)) == 1
