"""Property-based tests of the HTTP API from its own OpenAPI spec: whatever a client sends, the
answer is never a 5xx, and it matches the documented schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine
from cardwatch.server.http import Services, create_app
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore
from cardwatch.workspace import Workspace


def _app():  # type: ignore[no-untyped-def]
    ws = Workspace.open(Path(tempfile.mkdtemp(prefix="cardwatch-st-")))
    store = MemoryStore()
    actions = CardholderActions(store, b"secret")
    engine = Engine(controls=EngineControls(actions.controls))
    service = AuthorisationService(engine, store, secret_key=b"secret")
    return create_app(Services(ws, service, store, actions, b"pan-key", api_key=None))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_on_any_input(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
