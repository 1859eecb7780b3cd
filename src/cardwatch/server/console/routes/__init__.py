"""One router per resource; ``ROUTERS`` is what the console app includes, in order."""

from __future__ import annotations

from fastapi import APIRouter

from cardwatch.server.console.routes import (
    audit,
    auth,
    breaches,
    bulk,
    cases,
    dashboard,
    model,
    queue,
    rules,
    users,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    queue.router,
    cases.router,
    bulk.router,
    breaches.router,
    rules.router,
    dashboard.router,
    model.router,
    audit.router,
    users.router,
)
