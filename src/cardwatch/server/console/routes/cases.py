"""Cases: the list, one case with its card's timeline, verdicts and card actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.casework import (
    CARD_ACTIONS,
    act_on_card,
    case_txn_ids,
    close_with_verdict,
    get_case,
)
from cardwatch.server.console.deps import ConsoleDep, CurrentUser
from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.timeline import card_timeline
from cardwatch.server.console.views import redirect, render

router = APIRouter(prefix="/cases")


@router.get("", name="read_cases", response_class=HTMLResponse)
def read_cases(
    request: Request, console: ConsoleDep, user: CurrentUser, status: str = "open"
) -> Response:
    cases = console.store.cases(status=status or None, limit=300)
    return render(request, "cases.html", cases=cases, status=status)


@router.get("/{case_id}", name="read_case", response_class=HTMLResponse)
def read_case(request: Request, console: ConsoleDep, user: CurrentUser, case_id: str) -> Response:
    case = get_case(console, case_id)
    timeline = card_timeline(console, case.card_id, case) if case.card_id else []
    exposures = console.store.exposures_of_card(case.card_id) if case.card_id else []
    controls = console.store.controls_of(case.card_id) if case.card_id else []
    # PCI DSS 10.2.1.1: every view of a card's data is logged.
    console.audit(user.username, "view_card", f"card:{case.card_id}", case_id=case.case_id)
    return render(
        request,
        "case.html",
        case=case,
        timeline=timeline,
        exposures=exposures,
        active_controls=[c for c in controls if c.active_at(console.now())],
        case_txns=set(case_txn_ids(console, case)),
        actions=CARD_ACTIONS,
    )


@router.post("/{case_id}/verdict", name="create_verdict")
def create_verdict(
    request: Request,
    console: ConsoleDep,
    user: CurrentUser,
    case_id: str,
    verdict: Annotated[str, Form()],
    txn_ids: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies form defaults)
    note: Annotated[str, Form()] = "",
) -> Response:
    case = get_case(console, case_id)
    count = close_with_verdict(console, user, case, verdict, txn_ids, note)
    words = "confirmed fraud" if verdict == "fraud" else "marked legitimate"
    return redirect(
        request, "read_case", f"Case {words}: {count} transaction(s) labelled.", case_id=case_id
    )


@router.post("/{case_id}/actions", name="create_card_action")
def create_card_action(
    request: Request,
    console: ConsoleDep,
    user: CurrentUser,
    case_id: str,
    action: Annotated[str, Form()],
    merchant_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    case = get_case(console, case_id)
    if case.card_id is None:
        raise ActionRefused("this case has no card")
    act_on_card(console, user, case.card_id, action, merchant_id=merchant_id, case=case, note=note)
    return redirect(request, "read_case", CARD_ACTIONS[action] + ".", case_id=case_id)
