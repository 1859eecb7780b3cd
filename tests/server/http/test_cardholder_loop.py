"""The cardholder loop over HTTP: a stopped payment writes a notice with two signed links; "it
was me" lets the same payment through at once; "not me" freezes the card; links are single-use
and opening one (GET) changes nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.conftest import TEST_PANS

from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine, Policy
from cardwatch.rules import compile_ruleset, loads_ruleset
from cardwatch.server.http import Services

RULES = loads_ruleset(
    """
[[rules]]
id = "big_online"
rule = "decline if card_not_present == 1 and amount > 500"
description = "Unusually large online payment."
mode = "live"
"""
)
PAYMENT = {
    "pan": TEST_PANS[2],
    "amount": 812.0,
    "currency": "EUR",
    "merchant_id": "registrar-us",
    "merchant_name": "Domain Registrar Inc",
    "merchant_country": "US",
    "channel": "ecommerce",
    "entry_mode": "ecommerce",
}


def _with_rules(services: Services) -> None:
    services.service.engine = Engine(
        rules=compile_ruleset(RULES),
        policy=Policy(),
        controls=EngineControls(services.actions.controls),
    )


def _links(services: Services) -> list[str]:
    """The tokens of the one notice in the outbox, after checking what it tells the cardholder."""
    messages = services.store.outbox_messages()
    assert len(messages) == 1
    text = str(messages[0].payload)
    assert "Domain Registrar Inc" in text and "812" in text
    assert "Unusually large online payment" in text
    assert TEST_PANS[2] not in text
    tokens = sorted(set(re.findall(r"/l/([A-Za-z0-9_\-.=]+)", text)))
    assert len(tokens) == 2
    return tokens


def test_it_was_me_unblocks_the_retry(client: TestClient, services: Services, clock) -> None:
    _with_rules(services)
    first = client.post("/v1/authorizations", json=PAYMENT).json()
    assert (first["action"], first["response_code"]) == ("decline", "59")
    tokens = _links(services)
    pages = {t: client.get(f"/l/{t}").text for t in tokens}
    it_was_me = next(t for t, p in pages.items() if "It was me" in p and "not me" not in p)
    assert client.post("/v1/authorizations", json=PAYMENT).json()["action"] == "decline"
    clock.tick(20)
    done = client.post(f"/l/{it_was_me}")
    assert done.status_code == 200 and "again" in done.text
    retry = client.post("/v1/authorizations", json=PAYMENT).json()
    assert (retry["action"], retry["response_code"]) == ("approve", "00")
    assert [r["code"] for r in retry["reasons"]] == ["cardholder_confirmed"]
    bigger = client.post("/v1/authorizations", json={**PAYMENT, "amount": 5000.0}).json()
    assert bigger["action"] == "decline"  # the approval is scoped to that payment
    assert client.post(f"/l/{it_was_me}").status_code == 410  # single use


def test_not_me_freezes_the_card(client: TestClient, services: Services) -> None:
    _with_rules(services)
    client.post("/v1/authorizations", json=PAYMENT)
    tokens = _links(services)
    not_me = next(t for t in tokens if "not me" in client.get(f"/l/{t}").text.lower())
    assert client.post(f"/l/{not_me}").status_code == 200
    small = client.post("/v1/authorizations", json={**PAYMENT, "amount": 5.0}).json()
    assert (small["action"], small["response_code"]) == ("decline", "62")


def test_forged_link_is_refused(client: TestClient) -> None:
    assert client.get("/l/not-a-token").status_code == 410
    assert client.post("/l/not-a-token").status_code == 410
