"""Rules in the console: list, backtest side by side, promote with confirmation, audited."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from cardwatch.rules import Mode, RuleStore
from cardwatch.rules.toml_io import dumps_ruleset
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace


def test_rules_page_lists_the_set_in_force(
    app_client: TestClient, login: Callable[[str], str]
) -> None:
    login("ana")
    html = app_client.get("/console/rules").text
    assert "very_high_score" in html and "burst_of_payments" in html and "shipped default" in html
    assert "Promote" not in html  # analysts do not promote


def test_backtest_shows_candidate_and_in_force_side_by_side(
    app_client: TestClient, login: Callable[[str], str], workspace: Workspace, store: SqlStore
) -> None:
    token = login("ana")
    text = dumps_ruleset(RuleStore(workspace).current()).replace('mode = "shadow"', 'mode = "live"')
    response = app_client.post("/console/rules/backtest", data={"csrf_token": token, "text": text})
    assert response.status_code == 200
    assert "Distinct honest cardholders hurt" in response.text
    assert "400 payments replayed" in response.text
    assert "Save as new version" not in response.text  # analysts only backtest
    assert any(e.action == "rules_backtest" for e in store.audit_entries())


def test_bad_rule_text_is_shown_not_crashed(
    app_client: TestClient, login: Callable[[str], str]
) -> None:
    token = login("ana")
    text = '[[rules]]\nid = "x"\nrule = "decline if amount >"\ndescription = "d"\n'
    response = app_client.post("/console/rules/backtest", data={"csrf_token": token, "text": text})
    assert response.status_code == 422
    assert 'role="alert"' in response.text


def test_promote_a_shadow_rule_needs_confirmation_and_is_audited(
    app_client: TestClient, login: Callable[[str], str], workspace: Workspace, store: SqlStore
) -> None:
    token = login("sam")
    page = app_client.get("/console/rules/promote/burst_of_payments")
    assert page.status_code == 200 and "Confirm promotion" in page.text
    unconfirmed = app_client.post(
        "/console/rules/promote/burst_of_payments", data={"csrf_token": token}
    )
    assert unconfirmed.status_code == 409
    assert RuleStore(workspace).versions() == []
    done = app_client.post(
        "/console/rules/promote/burst_of_payments", data={"csrf_token": token, "confirm": "yes"}
    )
    assert done.status_code == 200 and "is live" in done.text
    rules = RuleStore(workspace)
    assert rules.current_version() == 1
    assert rules.current().rule("burst_of_payments").mode is Mode.LIVE
    promoted = [e for e in store.audit_entries() if e.action == "rules_promoted"]
    assert promoted and promoted[0].who == "sam" and promoted[0].details["version"] == 1


def test_analyst_cannot_promote_or_save(
    app_client: TestClient, login: Callable[[str], str], workspace: Workspace
) -> None:
    token = login("ana")
    assert app_client.get("/console/rules/promote/burst_of_payments").status_code == 403
    response = app_client.post(
        "/console/rules/promote/burst_of_payments", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 403
    saved = app_client.post(
        "/console/rules/versions", data={"csrf_token": token, "text": "", "confirm": "yes"}
    )
    assert saved.status_code == 403
    assert RuleStore(workspace).versions() == []


def test_save_and_roll_back(
    app_client: TestClient, login: Callable[[str], str], workspace: Workspace, store: SqlStore
) -> None:
    token = login("sam")
    text = dumps_ruleset(RuleStore(workspace).current())
    for _ in range(2):
        app_client.post(
            "/console/rules/versions", data={"csrf_token": token, "text": text, "confirm": "yes"}
        )
    assert RuleStore(workspace).current_version() == 2
    app_client.post("/console/rules/pin", data={"csrf_token": token, "version": "1"})
    assert RuleStore(workspace).current_version() == 1
    actions = [e.action for e in store.audit_entries()]
    assert actions.count("rules_saved") == 2 and "rules_pinned" in actions
