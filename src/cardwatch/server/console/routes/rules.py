"""Placeholder."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.deps import CurrentUser
from cardwatch.server.console.views import render

router = APIRouter(prefix="/rules")


@router.get("", name="read_rules", response_class=HTMLResponse)
def read_rules(request: Request, user: CurrentUser) -> Response:
    return render(request, "error.html", title="rules", detail="Nothing yet.")
