"""Build the running service from a workspace: store, engine warmed on history, cardholder
actions, exposure, metrics, and the HTTP application with the console mounted.

``cardwatch serve``, the demo and the end-to-end tests all start the service through here, so
they run the same thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.control_cache import StoreControls
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.respond import StoreExposure
from cardwatch.runtime import engine_parts
from cardwatch.server.console import create_console
from cardwatch.server.http import Services, create_app
from cardwatch.server.http.metrics import ServiceMetrics
from cardwatch.service import AuthorisationService, utc_now
from cardwatch.store.history import History, transactions_table
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

__all__ = ["Running", "build"]

log = logging.getLogger(__name__)


@dataclass
class Running:
    services: Services
    metrics: ServiceMetrics
    app: FastAPI
    warmed: int


def rebuild_table(
    history: History, store: SqlStore, until: datetime | None = None
) -> tuple[pa.Table, dict[int, tuple[str, str]]]:
    """What the profiles are rebuilt from: the imported history, then every payment decided
    live after its end (those are durable in the store before they were answered), with the
    rows of the latter mapped to the action and response code they were given."""
    table = history.table(end=until)
    end = None
    if table.num_rows:
        end = table.column("timestamp")[table.num_rows - 1].as_py()
    live = [
        found
        for found in store.decided_answers(after=end)
        if until is None or found[0].timestamp < until
    ]
    if not live:
        return table, {}
    answers = {table.num_rows + i: (action, code) for i, (_, action, code) in enumerate(live)}
    return pa.concat_tables([table, transactions_table([t for t, _, _ in live])]), answers


def build(
    ws: Workspace,
    *,
    base_url: str = "http://127.0.0.1:8000",
    warm: bool = True,
    store: SqlStore | None = None,
    clock: object = utc_now,
    history_until: datetime | None = None,
) -> Running:
    """Everything ``cardwatch serve`` runs, built and warmed, not yet listening."""
    store = store or SqlStore.open(ws.database_url)
    controls = StoreControls(store)
    actions = CardholderActions(store, ws.secret_key(), controls)
    parts = engine_parts(ws)
    engine = parts.engine(EngineControls(controls), StoreExposure(store))
    warmed = 0
    if warm:
        table, answers = rebuild_table(History(ws), store, history_until)
        if table.num_rows:
            engine.warm_up(table, decided=answers)
            warmed = table.num_rows
            log.info("profiles rebuilt from %s transactions", f"{warmed:,}")
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry)
    service = AuthorisationService(
        engine,
        store,
        secret_key=ws.secret_key(),
        base_url=base_url,
        clock=clock,  # type: ignore[arg-type]
        on_decision=metrics.observe,
    )
    metrics.track_backlog(lambda: len(store.outbox_messages(status="pending", limit=100_000)))
    services = Services(ws, service, store, actions, ws.pan_key(), registry=registry)
    app = create_app(services)
    # Behind https (the links' base URL says so) the session cookie must never travel in clear.
    console = create_console(ws, store, clock=clock, secure_cookies=base_url.startswith("https://"))
    app.mount("/console", console)  # type: ignore[arg-type]
    return Running(services, metrics, app, warmed)
