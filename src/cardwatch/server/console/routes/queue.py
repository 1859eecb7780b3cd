"""The alert queue: open alerts, breach victims first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.alertqueue import open_queue
from cardwatch.server.console.casework import open_case_for_alert
from cardwatch.server.console.deps import ConsoleDep, CurrentUser
from cardwatch.server.console.views import redirect, render

router = APIRouter(prefix="/queue")


@router.get("", name="read_queue", response_class=HTMLResponse)
def read_queue(request: Request, console: ConsoleDep, user: CurrentUser) -> Response:
    items = open_queue(console.store)
    console.audit(user.username, "view_queue", "queue", shown=len(items))
    return render(request, "queue.html", items=items)


@router.post("/{alert_id}/case", name="create_case_from_alert")
def create_case_from_alert(
    request: Request, console: ConsoleDep, user: CurrentUser, alert_id: str
) -> Response:
    case = open_case_for_alert(console, user, alert_id)
    return redirect(request, "read_case", case_id=case.case_id)
