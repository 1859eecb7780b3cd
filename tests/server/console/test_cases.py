"""The alert queue, a case from alert to verdict, card actions, breaches and four-eyes bulk
actions, through the TestClient."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

from .seed import T0, Seeded


def test_queue_puts_breach_victims_first(
    app_client: TestClient, login: Callable[[str], str], world: Seeded
) -> None:
    login("ana")
    html = app_client.get("/console/queue").text
    # The plain card scores 0.97 and the victim only 0.40, but the victim is exposed.
    assert html.index(world.victim_alert) < html.index(world.plain_alert)
    assert "exposed" in html


def _open_case(client: TestClient, token: str, alert_id: str) -> str:
    response = client.post(
        f"/console/queue/{alert_id}/case", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    return response.headers["location"].rsplit("/", 1)[1]


def test_work_a_case_to_confirmed_fraud(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("ana")
    case_id = _open_case(app_client, token, world.plain_alert)
    page = app_client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert "p_alert" in page.text and "amount_spike" in page.text and "Gadgets" in page.text
    response = app_client.post(
        f"/console/cases/{case_id}/verdict",
        data={"csrf_token": token, "verdict": "fraud", "txn_ids": ["p_alert", "d1"]},
    )
    assert response.status_code == 200
    assert "confirmed fraud" in response.text
    case = store.get_case(case_id)
    assert case is not None and case.status == "closed" and case.verdict == "fraud"
    labels = [
        (lab.txn_id, lab.is_fraud, lab.source)
        for lab in store.labels_known_at(T0.replace(year=2100))
    ]
    assert sorted(labels) == [("d1", True, "analyst:ana"), ("p_alert", True, "analyst:ana")]
    assert all(a.status == "closed" for a in store.alerts(card_id=world.plain_card))
    actions = [(e.who, e.action, e.target) for e in store.audit_entries()]
    assert ("ana", "open_case", f"card:{world.plain_card}") in actions
    assert ("ana", "view_card", f"card:{world.plain_card}") in actions
    assert ("ana", "verdict_fraud", f"card:{world.plain_card}") in actions
    # A closed case takes no second verdict.
    again = app_client.post(
        f"/console/cases/{case_id}/verdict",
        data={"csrf_token": token, "verdict": "legitimate", "txn_ids": ["p_alert"]},
    )
    assert again.status_code == 409


def test_verdict_defaults_to_the_alerted_transactions(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("ana")
    case_id = _open_case(app_client, token, world.victim_alert)
    app_client.post(
        f"/console/cases/{case_id}/verdict", data={"csrf_token": token, "verdict": "legitimate"}
    )
    labels = store.labels_known_at(T0.replace(year=2100))
    assert [(lab.txn_id, lab.is_fraud) for lab in labels] == [("v_alert", False)]


def test_two_alerts_of_one_card_share_a_case(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    from cardwatch.store.records import Alert

    extra = store.add_alert(Alert(world.plain_card, "rule", T0, txn_id="d1", score=0.9))
    token = login("ana")
    first = _open_case(app_client, token, world.plain_alert)
    second = _open_case(app_client, token, extra.alert_id)
    assert first == second


@pytest.mark.parametrize(
    ("action", "extra", "kind"),
    [("freeze", {}, "freeze"), ("allow_merchant", {"merchant_id": "m_gadgets"}, "allow_merchant")],
)
def test_card_actions_become_controls(
    app_client: TestClient,
    login: Callable[[str], str],
    world: Seeded,
    store: SqlStore,
    action: str,
    extra: dict[str, str],
    kind: str,
) -> None:
    token = login("ana")
    case_id = _open_case(app_client, token, world.plain_alert)
    response = app_client.post(
        f"/console/cases/{case_id}/actions", data={"csrf_token": token, "action": action, **extra}
    )
    assert response.status_code == 200
    controls = store.controls_of(world.plain_card)
    assert [c.kind for c in controls] == [kind]
    assert any(e.action == action for e in store.audit_entries())


def test_case_page_never_shows_a_pan(
    app_client: TestClient, login: Callable[[str], str], store: SqlStore
) -> None:
    from cardwatch.store.records import Alert

    pan = "4111111111111111"  # an opaque id that is a PAN must still be masked on screen
    alert = store.add_alert(Alert(pan, "review", T0, txn_id="t1", score=0.5))
    token = login("ana")
    case_id = _open_case(app_client, token, alert.alert_id)
    for path in ("/console/queue", f"/console/cases/{case_id}", "/console/cases"):
        html = app_client.get(path).text
        assert pan not in html
    assert "411111******1111" in app_client.get(f"/console/cases/{case_id}").text


def test_breach_page_and_four_eyes_notices(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("sam")
    page = app_client.get(f"/console/breaches/{world.breach_id}")
    assert page.status_code == 200
    assert "m_corner_store" in page.text and "<svg" in page.text
    app_client.post(
        f"/console/breaches/{world.breach_id}/bulk",
        data={"csrf_token": token, "action": "notify_exposed"},
    )
    assert store.outbox_messages() == []  # nothing runs before a second person approves
    pending = [c for c in store.cases(status="open") if c.kind == "bulk_action"]
    assert len(pending) == 1
    own = app_client.post(
        f"/console/approvals/{pending[0].case_id}",
        data={"csrf_token": token, "decision": "approve"},
    )
    assert own.status_code == 409
    assert store.outbox_messages() == []
    app_client.cookies.clear()
    token = login("sue")
    done = app_client.post(
        f"/console/approvals/{pending[0].case_id}",
        data={"csrf_token": token, "decision": "approve"},
    )
    assert done.status_code == 200 and "12 card(s)" in done.text
    sent = store.outbox_messages(limit=1000)
    assert len(sent) == 12 and {m.kind for m in sent} == {"breach_notice"}
    assert {m.card_id for m in sent} == set(world.exposed_cards)
    actions = [(e.who, e.action) for e in store.audit_entries()]
    assert ("sam", "bulk_requested") in actions and ("sue", "bulk_approved") in actions


def test_a_breach_found_from_clones_says_so(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    login("sam")
    plain = app_client.get(f"/console/breaches/{world.breach_id}").text
    assert "defrauded cards" in plain and "Early evidence" not in plain
    breach = store.get_breach(world.breach_id)
    assert breach is not None
    breach.evidence = {**breach.evidence, "basis": "counterfeit_use"}
    assert store.update_breach(breach)
    page = app_client.get(f"/console/breaches/{world.breach_id}").text
    assert "cards seen paying as clones" in page and "Early evidence" in page


def test_rejected_bulk_reissue_does_nothing(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("sam")
    app_client.post(
        f"/console/breaches/{world.breach_id}/bulk",
        data={"csrf_token": token, "action": "reissue_exposed", "top": "3"},
    )
    case = next(c for c in store.cases(status="open") if c.kind == "bulk_action")
    app_client.cookies.clear()
    token = login("sue")
    app_client.post(
        f"/console/approvals/{case.case_id}", data={"csrf_token": token, "decision": "reject"}
    )
    assert store.get_case(case.case_id).verdict == "rejected"  # type: ignore[union-attr]
    assert all(store.controls_of(card) == [] for card in world.exposed_cards)


@pytest.mark.parametrize(
    "path",
    [
        "/console/queue",
        "/console/cases",
        "/console/breaches",
        "/console/rules",
        "/console/dashboard",
        "/console/model",
        "/console/approvals",
        "/console/audit",
        "/console/users",
    ],
)
def test_pages_render_from_an_empty_store(
    app_client: TestClient, login: Callable[[str], str], path: str
) -> None:
    login("ada")
    response = app_client.get(path)
    assert response.status_code == 200, response.text[:300]


def test_user_admin_adds_users_and_audits(
    app_client: TestClient, login: Callable[[str], str], store: SqlStore, workspace: Workspace
) -> None:
    token = login("ada")
    response = app_client.post(
        "/console/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "password": "long enough pass",
            "role": "analyst",
        },
    )
    assert response.status_code == 200
    assert store.get_user("newbie") is not None
    weak = app_client.post(
        "/console/users",
        data={"csrf_token": token, "username": "weak", "password": "short", "role": "analyst"},
    )
    assert weak.status_code == 409 and store.get_user("weak") is None
    app_client.post("/console/users/newbie/role", data={"csrf_token": token, "role": "supervisor"})
    assert store.get_user("newbie").role == "supervisor"  # type: ignore[union-attr]
    actions = [(e.who, e.action, e.target) for e in store.audit_entries()]
    assert ("ada", "user_added", "user:newbie") in actions
    assert ("ada", "user_role_changed", "user:newbie") in actions
