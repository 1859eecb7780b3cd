"""POST /v1/breaches/{id}/respond: the whole chain by default, ``stores_only`` to narrow it, and a
later ``as_of`` that updates the same breach and tells only the cards it added."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from tests.breach.conftest import build_world

from cardwatch.server.http import Services, create_app
from cardwatch.server.http.routes import breaches
from cardwatch.store.history import History
from cardwatch.store.records import Breach


@pytest.fixture
def app_client(services: Services) -> TestClient:
    breaches.per_card.reset()
    breaches.per_client.reset()
    app = create_app(services)
    if not any(getattr(r, "path", "").startswith("/v1/breaches") for r in app.routes):
        app.include_router(breaches.router)
    return TestClient(app)


def _chain_breach(services: Services) -> Breach:
    return services.store.add_breach(
        Breach(
            "BIGMART",
            datetime(2013, 11, 27, tzinfo=UTC),
            datetime(2013, 12, 8, tzinfo=UTC),
            5.0,
            datetime(2013, 12, 10, tzinfo=UTC),
            evidence={"level": "chain", "chain": "BIGMART", "merchant_ids": ["BM1", "BM2"]},
        )
    )


def test_stores_only_narrows_a_chain_and_sticks(app_client, services) -> None:
    History(services.workspace).append(build_world().table)
    b = _chain_breach(services)
    url = f"/v1/breaches/{b.breach_id}/respond"
    early = {"as_of": "2013-12-10T00:00:00Z", "notify": False}
    narrow = app_client.post(url, json={**early, "stores_only": True}).json()
    assert (narrow["stores"], narrow["chain_wide"]) == (2, False)
    again = app_client.post(url, json=early).json()  # the analyst's choice is kept
    assert again["stores"] == 2 and again["exposures_added"] == 0
    whole = app_client.post(url, json={**early, "stores_only": False}).json()
    assert (whole["stores"], whole["stores_with_victims"], whole["chain_wide"]) == (5, 2, True)
    assert whole["exposures_added"] == whole["cards"] - narrow["cards"] > 0
    assert "all 5 stores of the chain BIGMART" in whole["scope"]


def test_a_later_as_of_tells_only_the_added_cards(app_client, services) -> None:
    History(services.workspace).append(build_world().table)
    first = app_client.post(
        "/v1/breaches/BIGMART/respond", json={"as_of": "2013-12-20T00:00:00Z"}
    ).json()
    later = app_client.post(
        f"/v1/breaches/{first['breach_id']}/respond", json={"as_of": "2013-12-31T00:00:00Z"}
    ).json()
    assert later["breach_id"] == first["breach_id"] and later["widened"]
    assert later["exposures_added"] > 0
    assert later["notices_queued"] == later["exposures_added"] and later["untold"] == 0
    cards = [m.card_id for m in services.store.outbox_messages(limit=100_000)]
    assert len(cards) == len(set(cards)) == later["cards"]
