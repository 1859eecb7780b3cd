"""Reviewer's defects in the HTTP edge: a reused key with another payment is refused, hostile
or broken bodies get a 4xx that names what is wrong (never a 5xx), and an open API is warned of."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from tests.conftest import TEST_PANS

from cardwatch.server.http import Services, create_app

PAYMENT = {"pan": TEST_PANS[0], "amount": 12.5, "currency": "EUR", "merchant_id": "m-1"}
OTHER = {"pan": TEST_PANS[2], "amount": 999, "currency": "EUR", "merchant_id": "m-1"}
NESTED = b"[" * 100_000 + b"]" * 100_000


def _decisions(services: Services) -> int:
    return len(services.store.decision_keys())  # type: ignore[attr-defined]


@pytest.mark.parametrize("headers", [{"Idempotency-Key": "k1"}, {}])
def test_a_key_reused_with_another_payment_is_refused(
    client: TestClient, services: Services, headers: dict[str, str]
) -> None:
    first = {**PAYMENT, "txn_id": "t-1"} if not headers else PAYMENT
    other = {**OTHER, "txn_id": "t-1"} if not headers else OTHER
    r1 = client.post("/v1/authorizations", json=first, headers=headers)
    assert r1.status_code == 200, r1.text
    r2 = client.post("/v1/authorizations", json=other, headers=headers)
    assert r2.status_code == 409, r2.text
    problem = r2.json()["detail"][0]
    assert problem["field"] == ("Idempotency-Key" if headers else "txn_id")
    assert "reused with a different payment" in problem["problem"]
    assert "card_id" in problem["problem"] and "amount" in problem["problem"]
    assert TEST_PANS[2] not in r2.text and "decision_id" not in r2.text
    assert _decisions(services) == 1  # the second payment was never decided
    # A true retry still gets the stored answer.
    r3 = client.post("/v1/authorizations", json=first, headers=headers)
    assert r3.status_code == 200 and r3.json() == r1.json()


def test_a_different_amount_alone_is_another_payment(client: TestClient) -> None:
    key = {"Idempotency-Key": "k-amount"}
    assert client.post("/v1/authorizations", json=PAYMENT, headers=key).status_code == 200
    again = client.post("/v1/authorizations", json={**PAYMENT, "amount": 12.51}, headers=key)
    assert again.status_code == 409 and "amount" in again.text


def test_deeply_nested_json_is_a_400_not_a_500(services: Services) -> None:
    client = TestClient(create_app(services), raise_server_exceptions=False)
    json_type = {"content-type": "application/json"}
    r = client.post("/v1/authorizations", content=NESTED, headers=json_type)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"][0]["field"] == "body"
    assert "nested" in r.json()["detail"][0]["problem"]
    for path in ("/v1/labels", "/v1/cards/c1/controls"):
        other = client.post(path, content=NESTED, headers=json_type)
        assert 400 <= other.status_code < 500, (path, other.text)


def test_malformed_json_names_the_body_and_where(client: TestClient) -> None:
    r = client.post(
        "/v1/authorizations",
        content=b'{"amount": 1, "merchant_id": "m", oops}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "body"
    assert "not valid JSON at character 34" in error["problem"]


def test_an_empty_body_names_the_body(client: TestClient) -> None:
    r = client.post("/v1/authorizations", headers={"content-type": "application/json"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "body" and "empty" in error["problem"]


def test_pan_and_card_id_together_name_both_fields(client: TestClient) -> None:
    r = client.post("/v1/authorizations", json={**PAYMENT, "card_id": "c1"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "pan, card_id" and "exactly one" in error["problem"]


def test_an_open_api_is_warned_of_at_start_up(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        create_app(services)  # the fixture's services have no API key
    assert any("CARDWATCH_API_KEY" in r.getMessage() for r in caplog.records)
    caplog.clear()
    services.api_key = "secret"
    with caplog.at_level(logging.WARNING):
        create_app(services)
    assert not any("CARDWATCH_API_KEY" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("grouped", ["4111 1111 1111 1111", "5555-5555-5555-4444"])
def test_a_grouped_card_number_is_never_taken_for_a_card_id(
    client: TestClient, services: Services, grouped: str
) -> None:
    """A PAN written with spaces or dashes is still a PAN: as ``card_id`` it would be stored as
    it is, in clear, so it is refused, and it never reaches a URL path either."""
    before = _decisions(services)
    body = {k: v for k, v in PAYMENT.items() if k != "pan"} | {"card_id": grouped}
    r = client.post("/v1/authorizations", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "card_id"
    assert _decisions(services) == before
    r = client.get(f"/v1/cards/{grouped}/controls")
    assert r.status_code == 422 and "token" in r.text
