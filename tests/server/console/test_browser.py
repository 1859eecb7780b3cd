"""The console in a real browser (Debian's chromium through Playwright): log in, work a case
to confirmed fraud, backtest and promote a rule, open a breach and send notices with a second
supervisor's approval. Screenshots are kept in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cardwatch.server.console import create_console_app
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

from .seed import (
    PASSWORD,
    Seeded,
    add_users,
    seed_activity,
    seed_history,
    seed_world,
    synthetic_columns,
)

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


@dataclass
class Live:
    url: str
    ws: Workspace
    store: SqlStore
    world: Seeded


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    import os

    import uvicorn

    os.environ.setdefault("CARDWATCH_SECRET_KEY", "browser-test-secret")
    ws = Workspace.open(tmp_path_factory.mktemp("console") / "ws")
    store = SqlStore.open(ws.database_url)
    add_users(store)
    world = seed_world(store)
    seed_history(ws, world)
    seed_activity(store)
    app = create_console_app(ws, store, columns_provider=synthetic_columns)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "console did not start"
    yield Live(f"http://127.0.0.1:{port}", ws, store, world)
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1360, "height": 860})  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def log_in(page: object, live: Live, username: str) -> None:
    page.goto(f"{live.url}/console/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button:has-text('Log in')")  # type: ignore[attr-defined]
    page.wait_for_url("**/console/queue")  # type: ignore[attr-defined]


def test_log_in(page: object, live: Live) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live.url}/console/queue")  # type: ignore[attr-defined]
    page.wait_for_url("**/console/login?next=*")  # type: ignore[attr-defined]
    page.fill("input[name=username]", "ana")  # type: ignore[attr-defined]
    page.fill("input[name=password]", "not the password")  # type: ignore[attr-defined]
    page.click("button:has-text('Log in')")  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")  # type: ignore[attr-defined]
    shot(page, "01-login-failed")
    log_in(page, live, "ana")
    expect(page.locator("h1")).to_have_text("Alert queue")  # type: ignore[attr-defined]
    expect(page.locator("header .user")).to_have_text("ana")  # type: ignore[attr-defined]
    shot(page, "02-queue")


def test_work_a_case_to_confirmed_fraud(page: object, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, live, "ana")
    first = page.locator("table.grid tbody tr").first  # type: ignore[attr-defined]
    expect(first).to_contain_text("exposed")  # breach victims first
    first.get_by_role("button", name="Work case").click()
    page.wait_for_url("**/console/cases/*")  # type: ignore[attr-defined]
    expect(page.locator("dl.facts")).to_contain_text(live.world.victim_card)  # type: ignore[attr-defined]
    expect(page.locator("table.timeline")).to_contain_text("amount_spike")  # type: ignore[attr-defined]
    shot(page, "03-case-open")
    page.fill("#verdict input[name=note]", "Cardholder confirmed by phone: not theirs")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm fraud").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("confirmed fraud")  # type: ignore[attr-defined]
    expect(page.locator(".head")).to_contain_text("fraud")  # type: ignore[attr-defined]
    shot(page, "04-case-confirmed-fraud")
    case_id = page.url.rsplit("/", 1)[1].split("?")[0]  # type: ignore[attr-defined]
    case = live.store.get_case(case_id)
    assert case is not None and case.verdict == "fraud"
    labels = live.store.labels_known_at(case.closed_at)  # type: ignore[arg-type]
    assert ("v_alert", True) in [(lab.txn_id, lab.is_fraud) for lab in labels]


def test_backtest_and_promote_a_rule(page: object, live: Live) -> None:
    from playwright.sync_api import expect

    from cardwatch.rules import Mode, RuleStore

    log_in(page, live, "sam")
    page.get_by_role("link", name="Rules").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Edit & backtest →").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Backtest").click()  # type: ignore[attr-defined]
    expect(page.locator("main")).to_contain_text("Distinct honest cardholders hurt")  # type: ignore[attr-defined]
    shot(page, "05-rules-backtest")
    page.get_by_role("link", name="Rules").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Promote…").click()  # type: ignore[attr-defined]
    expect(page.locator("h1")).to_contain_text("burst_of_payments")  # type: ignore[attr-defined]
    shot(page, "06-rule-promote-confirm")
    page.check("input[name=confirm]")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm promotion").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("burst_of_payments is live")  # type: ignore[attr-defined]
    shot(page, "07-rules-after-promotion")
    assert RuleStore(live.ws).current().rule("burst_of_payments").mode is Mode.LIVE


def test_open_a_breach_and_send_notices(page: object, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, live, "sam")
    page.get_by_role("link", name="Breaches").click()  # type: ignore[attr-defined]
    shot(page, "08-breaches")
    page.get_by_role("link", name="m_corner_store").click()  # type: ignore[attr-defined]
    expect(page.locator("main")).to_contain_text("Evidence")  # type: ignore[attr-defined]
    shot(page, "09-breach")
    page.get_by_role("button", name="Notify 12 exposed cardholders").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("Another supervisor must approve")  # type: ignore[attr-defined]
    assert live.store.outbox_messages(status=None, limit=10_000) and not any(
        m.kind == "breach_notice" for m in live.store.outbox_messages(limit=10_000)
    )
    page.locator("header form button").click()  # type: ignore[attr-defined]
    log_in(page, live, "sue")
    page.get_by_role("link", name="Approvals").click()  # type: ignore[attr-defined]
    shot(page, "10-approvals")
    page.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("12 card(s)")  # type: ignore[attr-defined]
    notices = [m for m in live.store.outbox_messages(limit=10_000) if m.kind == "breach_notice"]
    assert len(notices) == 12


def test_tour_dashboard_model_audit(page: object, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, live, "ada")
    for name, heading, file in [
        ("Dashboard", "Dashboard", "11-dashboard"),
        ("Model", "Model", "12-model"),
        ("Audit", "Audit trail", "13-audit"),
        ("Cases", "Cases", "14-cases"),
        ("Users", "Users", "15-users"),
    ]:
        page.get_by_role("link", name=name, exact=True).click()  # type: ignore[attr-defined]
        expect(page.locator("h1")).to_contain_text(heading)  # type: ignore[attr-defined]
        shot(page, file)
    expect(page.locator("body")).not_to_contain_text("4111111111111111")  # type: ignore[attr-defined]
