"""The direct path of POST /v1/authorizations: a valid request is answered without FastAPI, and
every other one reaches FastAPI with its body intact, so its answers are the route's own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import TEST_PANS

from cardwatch.server.http import Services
from cardwatch.server.http.direct import DirectAuthorisations

PAYMENT = {"pan": TEST_PANS[0], "amount": 42.5, "currency": "EUR", "merchant_id": "m-1"}


class Downstream:
    """FastAPI's place: records what reaches it and the body it read."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_a_valid_request_is_answered_without_fastapi(services: Services) -> None:
    downstream = Downstream()
    client = TestClient(DirectAuthorisations(downstream, services))
    r = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "d1"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["response_code"] == "00" and downstream.bodies == []
    again = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "d1"})
    assert again.json() == r.json()


def test_anything_else_reaches_fastapi_with_its_body(services: Services) -> None:
    downstream = Downstream()
    client = TestClient(DirectAuthorisations(downstream, services))
    cases: list[dict[str, Any]] = [
        {"json": {**PAYMENT, "amount": -1}},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"content": b"[1, 2]", "headers": {"content-type": "application/json"}},
        {"json": PAYMENT, "headers": {"Idempotency-Key": "k" * 129}},
        {"content": b'{"amount": 1}', "headers": {"content-type": "text/plain"}},
    ]
    for case in cases:
        assert client.post("/v1/authorizations", **case).status_code == 299
    assert len(downstream.bodies) == len(cases) and all(downstream.bodies)
    assert client.get("/v1/authorizations").status_code == 299
    services.api_key = "secret"
    assert client.post("/v1/authorizations", json=PAYMENT).status_code == 299
    ok = client.post("/v1/authorizations", json=PAYMENT, headers={"Authorization": "Bearer secret"})
    assert ok.status_code == 200


def test_the_app_answers_errors_as_the_route_does(client: TestClient) -> None:
    r = client.post("/v1/authorizations", json=PAYMENT, headers={"Idempotency-Key": "k" * 129})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "header.idempotency-key"
    bad = client.post("/v1/authorizations", json={**PAYMENT, "amount": 0})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "amount"
