"""/v1/breaches (list, one, exposure, respond, card check) and the "am I affected?" link: no
oracle for card thieves — signed link or API key, the same shape of answer whether the card is
exposed, unexposed or unknown, a uniform refusal for forged or expired links, rate limits."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.breach.conftest import build_world
from tests.conftest import TEST_PANS

from cardwatch.customer.links import new_link, sign
from cardwatch.server.daily import JOB
from cardwatch.server.http import Services, create_app
from cardwatch.server.http.routes import breaches, links
from cardwatch.store.history import History
from cardwatch.store.records import Breach, Exposure, JobRun

EXPOSED, CLEAN = "tok_exposed_card", "tok_clean_card"


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "_recent", defaultdict(deque))
    breaches.per_card.reset()
    breaches.per_client.reset()


@pytest.fixture
def app_client(services: Services) -> TestClient:
    app = create_app(services)
    if not any(getattr(r, "path", "").startswith("/v1/breaches") for r in app.routes):
        app.include_router(breaches.router)
    return TestClient(app)


@pytest.fixture
def breach(services: Services, clock) -> Breach:
    now = clock.now
    b = services.store.add_breach(
        Breach(
            "m_tills",
            now - timedelta(days=30),
            now - timedelta(days=10),
            12.0,
            now - timedelta(days=1),
            evidence={"data_stolen": "track"},
        )
    )
    services.store.add_exposures(
        [
            Exposure(b.breach_id, EXPOSED, 100.0, 1, "cu1"),
            Exposure(b.breach_id, "tok_other", 0.0, 2, "cu2"),
            Exposure(b.breach_id, "tok_third", 0.0, 3, "cu3"),
        ]
    )
    return b


def _link(
    services: Services,
    card: str,
    breach: Breach,
    now: datetime,
    *,
    store: bool = True,
    ttl: timedelta = timedelta(days=30),
    key: bytes | None = None,
) -> str:
    link = new_link("breach_check", card, {"breach_id": breach.breach_id}, now, ttl)
    if store:
        services.store.create_link(link)
    return sign(link, key or services.actions.key)


def _shape(html: str) -> str:
    """The page without its one message paragraph."""
    return re.sub(r"<p>.*?</p>", "<p></p>", html, flags=re.S)


def test_link_answers_in_the_same_shape_affected_or_not(
    app_client, services, breach, clock
) -> None:
    yes = _link(services, EXPOSED, breach, clock.now)
    no = _link(services, CLEAN, breach, clock.now)
    # Opening the link shows nothing about the card: identical pages.
    assert app_client.get(f"/l/{yes}").text == app_client.get(f"/l/{no}").text
    a, b = app_client.post(f"/l/{yes}"), app_client.post(f"/l/{no}")
    assert a.status_code == b.status_code == 200
    assert _shape(a.text) == _shape(b.text)
    assert "was exposed" in a.text and "not among those exposed" in b.text


def test_forged_or_expired_links_get_one_uniform_refusal(
    app_client, services, breach, clock
) -> None:
    answers = []
    for card in (EXPOSED, CLEAN):
        forged = _link(services, card, breach, clock.now, store=False, key=b"guessed key")
        answers.append(app_client.post(f"/l/{forged}"))
    assert answers[0].status_code == answers[1].status_code == 410
    assert answers[0].text == answers[1].text
    expired = [
        _link(services, card, breach, clock.now - timedelta(days=40), ttl=timedelta(days=30))
        for card in (EXPOSED, CLEAN)
    ]
    late = [app_client.post(f"/l/{t}") for t in expired]
    assert late[0].status_code == late[1].status_code == 410
    assert late[0].text == late[1].text
    garbage = app_client.post("/l/not-a-token")
    assert garbage.status_code == 410 and _shape(garbage.text) == _shape(answers[0].text)
    assert "exposed" not in answers[0].text + late[0].text + garbage.text


def test_signed_but_unstored_link_is_refused(app_client, services, breach, clock) -> None:
    """A valid signature is not enough: the link must be one the issuer issued."""
    token = _link(services, EXPOSED, breach, clock.now, store=False)
    assert app_client.post(f"/l/{token}").status_code == 410


def test_link_checks_are_rate_limited(app_client, services, breach, clock) -> None:
    token = _link(services, EXPOSED, breach, clock.now)
    codes = [app_client.post(f"/l/{token}").status_code for _ in range(12)]
    assert codes[:10] == [200] * 10 and codes[-1] == 429


def test_api_check_by_token_same_shape_for_unknown_cards(app_client, services, breach) -> None:
    url = f"/v1/breaches/{breach.breach_id}/cards"
    yes = app_client.get(f"{url}/{EXPOSED}")
    unknown = app_client.get(f"{url}/tok_never_issued")
    assert yes.status_code == unknown.status_code == 200
    assert set(yes.json()) == set(unknown.json())
    assert yes.json()["affected"] is True and unknown.json()["affected"] is False
    assert {k: v for k, v in yes.json().items() if k not in ("affected", "message")} == {
        k: v for k, v in unknown.json().items() if k not in ("affected", "message")
    }
    assert app_client.get(f"/v1/breaches/brc_nope/cards/{EXPOSED}").status_code == 404
    assert app_client.get("/v1/breaches/brc_nope/cards/tok_x").status_code == 404


def test_no_lookup_by_pan_and_no_anonymous_lookup(app_client, services, breach) -> None:
    by_pan = app_client.get(f"/v1/breaches/{breach.breach_id}/cards/{TEST_PANS[0]}")
    assert by_pan.status_code == 422 and TEST_PANS[0] not in by_pan.text
    services.api_key = "issuer-secret"
    url = f"/v1/breaches/{breach.breach_id}/cards/{EXPOSED}"
    for path in (url, "/v1/breaches", f"/v1/breaches/{breach.breach_id}/exposure"):
        assert app_client.get(path).status_code == 401
    assert app_client.post(f"/v1/breaches/{breach.breach_id}/respond").status_code == 401
    wrong = app_client.get(url, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    ok = app_client.get(url, headers={"Authorization": "Bearer issuer-secret"})
    assert ok.status_code == 200 and ok.json()["affected"] is True


def test_api_check_is_rate_limited_per_card(app_client, breach) -> None:
    url = f"/v1/breaches/{breach.breach_id}/cards/{EXPOSED}"
    codes = [app_client.get(url).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[-1] == 429
    assert app_client.get(f"/v1/breaches/{breach.breach_id}/cards/tok_other").status_code == 200


def test_list_read_and_page_exposure(app_client, breach) -> None:
    listed = app_client.get("/v1/breaches").json()
    assert [b["breach_id"] for b in listed] == [breach.breach_id]
    one = app_client.get(f"/v1/breaches/{breach.breach_id}").json()
    assert one["exposed_cards"] == 3 and one["merchant_id"] == "m_tills"
    page = app_client.get(f"/v1/breaches/{breach.breach_id}/exposure?limit=2&offset=1").json()
    assert page["total"] == 3 and [i["rank"] for i in page["items"]] == [2, 3]
    assert app_client.get(f"/v1/breaches/{breach.breach_id}/exposure?limit=0").status_code == 422
    assert app_client.get("/v1/breaches/brc_nope").status_code == 404


def test_the_last_runs_held_pairs(app_client, services, clock) -> None:
    assert app_client.get("/v1/breaches/held").json() == {"as_of": None, "held": []}
    pair = {"place": "store:A", "rival": "store:B", "text": "A (store) or B (store): …"}
    services.store.record_job_run(JobRun(JOB, clock.now, clock.now, {"held": [pair]}))
    said = app_client.get("/v1/breaches/held").json()
    assert said == {"as_of": clock.now.isoformat(), "held": [pair]}


def test_respond_through_the_api(app_client, services) -> None:
    History(services.workspace).append(build_world().table)
    r = app_client.post(
        "/v1/breaches/BIGMART/respond", json={"as_of": "2013-12-31T00:00:00Z", "notify": True}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cards"] > body["victims"] > 0 and body["notices_queued"] == body["cards"]
    stored = services.store.get_breach(body["breach_id"])
    assert stored is not None and stored.evidence["key"] == "chain:BIGMART"
    again = app_client.post(
        f"/v1/breaches/{body['breach_id']}/respond", json={"as_of": "2013-12-31T00:00:00Z"}
    )
    assert again.status_code == 200
    assert again.json()["exposures_added"] == 0 and again.json()["already_notified"]
    top = app_client.get(f"/v1/breaches/{body['breach_id']}/exposure?limit=1").json()
    assert top["items"][0]["rank"] == 1 and top["total"] == body["cards"]
    # The notice's link answers for its card.
    msg = services.store.outbox_messages(card_id=top["items"][0]["card_id"])[0]
    url = msg.payload["links"]["breach_check"]
    token = url.rsplit("/l/", 1)[1]
    services.service.clock.now = datetime(2014, 1, 2, tzinfo=UTC)  # type: ignore[attr-defined]
    answer = app_client.post(f"/l/{token}")
    assert answer.status_code == 200 and "was exposed" in answer.text
    assert app_client.post("/v1/breaches/NOWHERE/respond").status_code == 404
