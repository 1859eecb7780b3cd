"""The audit trail, for supervisors and admins (PCI DSS 10.2). Read-only: there is no route
that changes or deletes a line, and reading it is itself audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.deps import ConsoleDep, SupervisorUser
from cardwatch.server.console.queries import recent_audit
from cardwatch.server.console.views import render

router = APIRouter(prefix="/audit")


@router.get("", name="read_audit", response_class=HTMLResponse)
def read_audit(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    who: str = "",
    target: str = "",
    limit: int = 300,
) -> Response:
    console.audit(user.username, "view_audit", "audit", who=who, target=target)
    entries = recent_audit(console.store, min(max(limit, 1), 5000), who or None, target or None)
    return render(request, "audit.html", entries=entries, who=who, target=target)
