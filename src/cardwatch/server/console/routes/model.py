"""Placeholder."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.deps import CurrentUser
from cardwatch.server.console.views import render

router = APIRouter(prefix="/model")


@router.get("", name="read_model", response_class=HTMLResponse)
def read_model(request: Request, user: CurrentUser) -> Response:
    return render(request, "error.html", title="model", detail="Nothing yet.")
