"""The dashboard: decisions, outcomes as labels arrive, notices and self-unblocks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.dashwork import dashboard
from cardwatch.server.console.deps import ConsoleDep, CurrentUser
from cardwatch.server.console.views import render

router = APIRouter(prefix="/dashboard")


@router.get("", name="read_dashboard", response_class=HTMLResponse)
def read_dashboard(request: Request, console: ConsoleDep, user: CurrentUser) -> Response:
    return render(request, "dashboard.html", board=dashboard(console))
