"""Suspected points of compromise: the list, one breach with its evidence, exposure and triage
list, and the requests to notify and reissue (run after a second supervisor approves)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.breach import DetectConfig
from cardwatch.errors import NotFoundError
from cardwatch.respond import respond
from cardwatch.server.console.breachwork import (
    breach_chart,
    evidence_rows,
    get_breach,
    merchant_ids,
)
from cardwatch.server.console.bulkwork import BULK_ACTIONS, pending_bulk, request_bulk
from cardwatch.server.console.deps import ConsoleDep, CurrentUser, SupervisorUser
from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.views import redirect, render
from cardwatch.server.daily import last_held

router = APIRouter(prefix="/breaches")

STATUSES = ("suspected", "confirmed", "dismissed", "closed")


@router.get("", name="read_breaches", response_class=HTMLResponse)
def read_breaches(request: Request, console: ConsoleDep, user: CurrentUser) -> Response:
    _, held = last_held(console.store)
    return render(request, "breaches.html", breaches=console.store.breaches(), held=held)


@router.post("/held/respond", name="respond_held")
def respond_held(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    key: Annotated[str, Form()],
) -> Response:
    """Record one place of a held pair as a suspected breach: the supervisor knows which of the
    two is leaking (the merchant's security team, a card shop's listing). As ``breach respond
    --no-notify`` as of the run that held it: breach, exposure, flags, victims' cases; nobody
    is told until the breach is confirmed and notices are approved."""
    last, held = last_held(console.store)
    pair = next((h for h in held if key in (h.get("place"), h.get("rival"))), None)
    if last is None or pair is None:
        raise ActionRefused(f"{key!r} is not held by the last detection run")
    as_of = datetime.fromisoformat(pair.get("as_of") or last.as_of.isoformat())
    config = DetectConfig(counterfeit_use=pair.get("basis") == "counterfeit_use")
    try:
        result = respond(console.ws, console.store, key, now=console.now(), as_of=as_of,
                         notify=False, config=config)  # fmt: skip
    except NotFoundError as e:
        raise ActionRefused(str(e)) from e
    bid = result.breach.breach_id
    console.audit(user.username, "respond_held", f"breach:{bid}", key=key, rival_of=pair)
    return redirect(request, "read_breach", f"Recorded {key} as a suspected breach.", breach_id=bid)


@router.get("/{breach_id}", name="read_breach", response_class=HTMLResponse)
def read_breach(
    request: Request, console: ConsoleDep, user: CurrentUser, breach_id: str, page: int = 0
) -> Response:
    breach = get_breach(console, breach_id)
    evidence = evidence_rows(console, breach)
    per_page = 50
    triage = console.store.exposures(breach_id, limit=per_page, offset=max(page, 0) * per_page)
    exposed = len(console.store.exposures(breach_id))
    console.audit(
        user.username, "view_breach", f"breach:{breach_id}", cards_shown=len(triage) + len(evidence)
    )
    pending = [p for p in pending_bulk(console, None) if p.breach_id == breach_id]
    return render(
        request,
        "breach.html",
        breach=breach,
        stores=merchant_ids(breach),
        evidence=evidence,
        chart=breach_chart(console, breach, evidence),
        triage=triage,
        exposed=exposed,
        page=page,
        per_page=per_page,
        bulk_actions=BULK_ACTIONS,
        pending=pending,
        statuses=STATUSES,
    )


@router.post("/{breach_id}/bulk", name="create_breach_bulk_action")
def create_breach_bulk_action(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    breach_id: str,
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    top: Annotated[int | None, Form()] = None,
) -> Response:
    pending = request_bulk(console, user, breach_id, action, note, top)
    message = (
        f"Requested: {pending.description.lower()} ({pending.cards} cards). "
        "Another supervisor must approve it."
    )
    return redirect(request, "read_breach", message, breach_id=breach_id)


@router.post("/{breach_id}/status", name="update_breach_status")
def update_breach_status(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    breach_id: str,
    status: Annotated[str, Form()],
) -> Response:
    if status not in STATUSES:
        raise ActionRefused(f"unknown status {status!r}")
    get_breach(console, breach_id)
    console.store.set_breach_status(breach_id, status)
    console.audit(user.username, "breach_status", f"breach:{breach_id}", status=status)
    return redirect(request, "read_breach", f"Breach marked {status}.", breach_id=breach_id)
