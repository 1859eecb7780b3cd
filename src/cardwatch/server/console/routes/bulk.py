"""Pending bulk actions: a second supervisor approves or rejects them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.bulkwork import decide_bulk, pending_bulk
from cardwatch.server.console.deps import ConsoleDep, SupervisorUser
from cardwatch.server.console.views import redirect, render

router = APIRouter(prefix="/approvals")


@router.get("", name="read_bulk_actions", response_class=HTMLResponse)
def read_bulk_actions(request: Request, console: ConsoleDep, user: SupervisorUser) -> Response:
    return render(
        request,
        "bulk.html",
        pending=pending_bulk(console, "open"),
        decided=pending_bulk(console, "closed")[:50],
    )


@router.post("/{case_id}", name="update_bulk_action")
def update_bulk_action(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    case_id: str,
    decision: Annotated[str, Form()],
) -> Response:
    done = decide_bulk(console, user, case_id, approve=decision == "approve")
    if done.outcome is not None:
        message = f"Approved: {done.description.lower()} — {done.outcome.get('done', 0)} card(s)."
    else:
        message = "Rejected."
    return redirect(request, "read_bulk_actions", message)
