"""An HTTP API over a memory store and a real engine, with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine, Policy
from cardwatch.server.http import Services, create_app
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore
from cardwatch.workspace import Workspace


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(workspace: Workspace, clock: Clock) -> Services:
    store = MemoryStore()
    actions = CardholderActions(store, workspace.secret_key())
    engine = Engine(policy=Policy(), controls=EngineControls(actions.controls))
    service = AuthorisationService(engine, store, secret_key=workspace.secret_key(), clock=clock)
    return Services(workspace, service, store, actions, workspace.pan_key(), api_key=None)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services))
