"""Log-in, sessions, CSRF and roles, through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cardwatch.server.console import create_console_app
from cardwatch.server.console.deps import SESSION_COOKIE
from cardwatch.store.records import Alert
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

from .conftest import csrf_of, log_in
from .seed import T0, Seeded

PAGES = [
    "/console/queue",
    "/console/cases",
    "/console/breaches",
    "/console/rules",
    "/console/dashboard",
    "/console/model",
]


@pytest.mark.parametrize("path", [*PAGES, "/console/audit", "/console/users", "/console/"])
def test_every_page_needs_a_session(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert "/console/login" in response.headers["location"]


def test_login_sets_a_protected_cookie_and_lands_on_the_queue(app_client: TestClient) -> None:
    page = app_client.get("/console/login")
    response = app_client.post(
        "/console/login",
        data={
            "username": "ana",
            "password": "correct horse battery",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/queue")
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    assert "Path=/console/" in cookie


def test_wrong_password_is_refused_and_audited(app_client: TestClient, store: SqlStore) -> None:
    page = app_client.get("/console/login")
    response = app_client.post(
        "/console/login",
        data={"username": "ana", "password": "wrong", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401
    assert SESSION_COOKIE not in app_client.cookies
    failed = [e for e in store.audit_entries() if e.action == "login_failed"]
    assert [(e.who, e.target) for e in failed] == [("ana", "user:ana")]


def test_unknown_user_is_audited_too(app_client: TestClient, store: SqlStore) -> None:
    page = app_client.get("/console/login")
    app_client.post(
        "/console/login",
        data={"username": "mallory", "password": "x" * 12, "csrf_token": csrf_of(page.text)},
    )
    assert any(e.action == "login_failed" and e.who == "mallory" for e in store.audit_entries())


def test_account_locks_after_ten_failures(app_client: TestClient, store: SqlStore) -> None:
    token = csrf_of(app_client.get("/console/login").text)
    for _ in range(10):
        app_client.post(
            "/console/login", data={"username": "sam", "password": "nope", "csrf_token": token}
        )
    right = app_client.post(
        "/console/login",
        data={"username": "sam", "password": "correct horse battery", "csrf_token": token},
    )
    assert right.status_code == 401
    assert store.audit_entries()[-1].action == "login_refused_locked"


def test_login_form_needs_its_csrf_token(app_client: TestClient) -> None:
    app_client.get("/console/login")
    response = app_client.post(
        "/console/login", data={"username": "ana", "password": "correct horse battery"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in app_client.cookies


def test_post_without_csrf_token_is_refused(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    login("ana")
    url = f"/console/queue/{world.plain_alert}/case"
    assert app_client.post(url, data={}).status_code == 403
    assert app_client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert store.cases() == []


def test_csrf_token_of_another_session_is_refused(
    workspace: Workspace, store: SqlStore, world: Seeded
) -> None:
    with (
        TestClient(create_console_app(workspace, store)) as a,
        TestClient(create_console_app(workspace, store)) as b,
    ):
        token_a = log_in(a, "ana")
        log_in(b, "sam")
        response = b.post(f"/console/queue/{world.plain_alert}/case", data={"csrf_token": token_a})
        assert response.status_code == 403


def test_post_with_token_works(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("ana")
    response = app_client.post(
        f"/console/queue/{world.plain_alert}/case", data={"csrf_token": token}
    )
    assert response.status_code == 200
    assert len(store.cases()) == 1


def test_tampered_or_expired_session_is_rejected(workspace: Workspace, store: SqlStore) -> None:
    now = [datetime(2024, 3, 1, tzinfo=UTC)]
    app = create_console_app(workspace, store, clock=lambda: now[0], session_ttl_seconds=3600)
    with TestClient(app) as client:
        log_in(client, "ana")
        assert client.get("/console/queue", follow_redirects=False).status_code == 200
        good = client.cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, good[:-2] + "xx", path="/console/")
        assert client.get("/console/queue", follow_redirects=False).status_code == 303
        client.cookies.set(SESSION_COOKIE, good, path="/console/")
        now[0] += timedelta(hours=2)
        assert client.get("/console/queue", follow_redirects=False).status_code == 303


def test_logout_revokes_the_session(app_client: TestClient, login: Callable[[str], str]) -> None:
    token = login("ana")
    stolen = app_client.cookies[SESSION_COOKIE]
    app_client.post("/console/logout", data={"csrf_token": token})
    app_client.cookies.set(SESSION_COOKIE, stolen, path="/console/")
    assert app_client.get("/console/queue", follow_redirects=False).status_code == 303


def test_next_is_followed_only_inside_the_console(app_client: TestClient) -> None:
    token = csrf_of(app_client.get("/console/login").text)
    data = {"username": "ana", "password": "correct horse battery", "csrf_token": token}
    evil = app_client.post(
        "/console/login", data={**data, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert evil.headers["location"].endswith("/console/queue")
    data["csrf_token"] = csrf_of(app_client.get("/console/login").text)
    good = app_client.post(
        "/console/login", data={**data, "next": "/console/breaches"}, follow_redirects=False
    )
    assert good.headers["location"] == "/console/breaches"


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("ana", "/console/audit", 403),
        ("ana", "/console/users", 403),
        ("ana", "/console/approvals", 403),
        ("sam", "/console/audit", 200),
        ("sam", "/console/users", 403),
        ("ada", "/console/users", 200),
        ("ada", "/console/audit", 200),
    ],
)
def test_roles_are_enforced(
    app_client: TestClient, login: Callable[[str], str], who: str, path: str, status: int
) -> None:
    login(who)
    assert app_client.get(path).status_code == status


def test_demoted_user_loses_rights_at_once(
    app_client: TestClient, login: Callable[[str], str], store: SqlStore
) -> None:
    from cardwatch.server.console.queries import set_user_role

    login("sam")
    assert app_client.get("/console/audit").status_code == 200
    set_user_role(store, "sam", "analyst")
    assert app_client.get("/console/audit").status_code == 403


def test_analyst_cannot_request_bulk_actions(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    token = login("ana")
    response = app_client.post(
        f"/console/breaches/{world.breach_id}/bulk",
        data={"csrf_token": token, "action": "notify_exposed"},
    )
    assert response.status_code == 403
    assert store.outbox_messages() == []


def test_every_unsafe_route_refuses_a_missing_token(
    app_client: TestClient, login: Callable[[str], str]
) -> None:
    """Walk every router the console includes: any POST without the token is refused, so a new
    route cannot forget the guard."""
    import re

    from fastapi.routing import APIRoute

    from cardwatch.server.console.routes import ROUTERS

    login("ada")
    posts = [
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert len(posts) >= 10
    for path in posts:
        url = "/console" + re.sub(r"\{[^}]+\}", "x", path)
        response = app_client.post(url, data={"action": "freeze"}, follow_redirects=False)
        assert response.status_code == 403, url


def test_every_form_on_every_page_carries_the_session_token(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    """Forms are filled from a Jinja macro: a macro imported without context would render an
    empty token and every button would be refused."""
    import re

    token = login("ada")
    case = app_client.post(f"/console/queue/{world.plain_alert}/case", data={"csrf_token": token})
    pages = [
        "/console/queue",
        case.url.path,
        f"/console/breaches/{world.breach_id}",
        "/console/rules",
        "/console/rules/promote/burst_of_payments",
        "/console/users",
        "/console/approvals",
    ]
    store.add_alert(Alert(world.victim_card, "review", T0, txn_id="v0", score=0.5))
    for path in pages:
        html = app_client.get(path).text
        tokens = re.findall(r'name="csrf_token" value="([^"]*)"', html)
        forms = html.count('method="post"')
        assert len(tokens) == forms >= 1, path
        assert set(tokens) == {token}, path
