"""POST /v1/breaches/{id}/respond: the whole chain by default, ``stores_only`` to narrow it, and a
later ``as_of`` that updates the same breach and tells only the cards it added; inside a running
service it reads what the service knows — payments decided live, fraud reported to the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient
from tests.breach.conftest import build_world
from tests.breach.live import go_live
from tests.server.stores import KINDS, opened

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine, Policy
from cardwatch.errors import NotFoundError
from cardwatch.pan import is_pan
from cardwatch.respond import respond
from cardwatch.server.http import Services, create_app
from cardwatch.server.http.routes import breaches
from cardwatch.service import AuthorisationService
from cardwatch.store.history import History
from cardwatch.store.memory import MemoryStore
from cardwatch.store.records import Breach

#: History imported up to here (before the breach began on 27 Nov); later payments were decided
#: by the service and every fraud report was posted to it (store labels only).
SPLIT = datetime(2013, 11, 25, tzinfo=UTC)
AT = datetime(2013, 12, 20, 3, tzinfo=UTC)


def _client(services: Services) -> TestClient:
    breaches.per_card.reset()
    breaches.per_client.reset()
    app = create_app(services)
    if not any(getattr(r, "path", "").startswith("/v1/breaches") for r in app.routes):
        app.include_router(breaches.router)
    return TestClient(app)


@pytest.fixture
def app_client(services: Services) -> TestClient:
    return _client(services)


@pytest.fixture(params=KINDS)
def live(request, workspace, clock, tmp_path) -> Iterator[tuple[TestClient, Services, pa.Table]]:
    """The API over a store of each kind, the world split at SPLIT (see ``go_live``)."""
    with opened(request.param, tmp_path) as store:
        actions = CardholderActions(store, workspace.secret_key())
        engine = Engine(policy=Policy(), controls=EngineControls(actions.controls))
        service = AuthorisationService(
            engine, store, secret_key=workspace.secret_key(), clock=clock
        )
        services = Services(workspace, service, store, actions, workspace.pan_key(), api_key=None)
        world = go_live(workspace, store, build_world().table, SPLIT)
        yield _client(services), services, world


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


def test_respond_reads_live_decisions_and_store_labels(live) -> None:
    client, services, world = live
    with pytest.raises(NotFoundError):  # the imported history alone shows no breach
        respond(services.workspace, MemoryStore(), "BIGMART", now=AT, as_of=AT, notify=False)

    r = client.post("/v1/breaches/BIGMART/respond", json={"as_of": AT.isoformat(), "notify": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["breach"] == "chain:BIGMART" and body["cards"] > 0
    bid = body["breach_id"]
    start = datetime.fromisoformat(body["window_start"])
    exposed = {e.card_id for e in services.store.exposures(bid)}
    assert len(exposed) == body["cards"] and not any(is_pan(c) for c in exposed)  # tokens only

    end = datetime.fromisoformat(body["window_end"])
    ts = world.column("timestamp")
    at_place = world.filter(  # every store of the chain (the response covers the chain)
        pc.and_(
            pc.equal(world.column("merchant_name"), "BIGMART"),
            pc.and_(
                pc.greater_equal(ts, pa.scalar(start, ts.type)),
                pc.less_equal(ts, pa.scalar(end, ts.type)),
            ),
        )
    ).to_pylist()
    imported = {r["card_id"] for r in at_place if r["timestamp"] < SPLIT}
    live_only = {r["card_id"] for r in at_place} - imported
    live_txns = {t.txn_id for t in services.store.decided_transactions()}
    assert all(r["txn_id"] in live_txns for r in at_place if r["card_id"] in live_only)
    assert len(live_only) > 10 and live_only <= exposed  # exposed by live decisions alone
    assert exposed == imported | live_only

    reported = {x.card_id for x in services.store.labels_known_at(AT) if x.is_fraud}
    assert 0 < body["victims"] <= len(exposed & reported)  # victims from the store's labels
