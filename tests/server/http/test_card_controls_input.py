"""Card-control input the API must refuse (422, with field and problem) or honour as given."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from cardwatch.server.http import Services

from .conftest import Clock

PAN = "4111111111111111"


def test_card_token_with_a_pan_or_too_long_is_refused(
    client: TestClient, services: Services
) -> None:
    r = client.post("/v1/cards/tok%204111111111111111/freeze")
    assert r.status_code == 422 and PAN not in r.text
    r = client.post("/v1/cards/" + "t" * 5000 + "/freeze")
    assert r.status_code == 422 and "64" in r.text and "t" * 100 not in r.text
    assert services.store.cards_with_controls() == set()
    assert client.post("/v1/cards/" + "t" * 64 + "/freeze").status_code == 201


def test_a_card_number_as_a_trusted_merchant_is_refused_masked(
    client: TestClient, services: Services
) -> None:
    r = client.post("/v1/cards/tok_1/allowed-merchants", json={"merchant_id": PAN})
    assert r.status_code == 422 and "merchant_id" in r.text
    assert PAN not in r.text and "411111******1111" in r.text
    assert services.store.controls_of("tok_1") == []
    assert services.store.audit_entries(target="tok_1") == []


def test_valid_from_is_honoured(client: TestClient, clock: Clock) -> None:
    later = "2030-01-01T00:00:00Z"
    r = client.post(
        "/v1/cards/tok_1/allowed-merchants", json={"merchant_id": "M1", "valid_from": later}
    )
    assert r.status_code == 201 and r.json()["valid_from"].startswith("2030-01-01T00:00:00")
    r = client.post("/v1/cards/tok_1/blocks", json={"countries": ["US"], "valid_from": later})
    assert r.status_code == 201 and r.json()[0]["valid_from"].startswith("2030-01-01T00:00:00")
    assert client.get("/v1/cards/tok_1/controls").json() == []  # not in force yet


def test_periods_already_over_or_endless_are_refused(client: TestClient, clock: Clock) -> None:
    past = (clock.now - timedelta(days=1)).isoformat()
    for path, body in (
        ("blocks", {"countries": ["US"], "valid_to": past}),
        ("allowed-merchants", {"merchant_id": "M1", "valid_to": past}),
        ("travel-notices", {"countries": ["US"], "valid_to": past}),
    ):
        r = client.post(f"/v1/cards/tok_1/{path}", json=body)
        assert r.status_code == 422 and "already over" in r.text, (path, r.text)
    r = client.post(
        "/v1/cards/tok_1/travel-notices",
        json={"countries": ["US"], "valid_to": "9999-12-31T00:00:00Z"},
    )
    assert r.status_code == 422 and "365 days" in r.text
    r = client.post(
        "/v1/cards/tok_1/blocks", json={"countries": ["US"], "valid_to": "9999-12-31T00:00:00Z"}
    )
    assert r.status_code == 422 and "no end" in r.text
    assert client.get("/v1/cards/tok_1/controls").json() == []
