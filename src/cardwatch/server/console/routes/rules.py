"""Rules: the set in force, editing and backtesting against it side by side, promoting a shadow
rule to live (supervisors, with a confirmation), and rolling back to an earlier version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.deps import ConsoleDep, CurrentUser, SupervisorUser
from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.rulework import (
    parse_candidate,
    pin_version,
    promote_rule,
    rules_view,
    run_backtest,
    save_candidate,
    with_rule_live,
)
from cardwatch.server.console.views import redirect, render

router = APIRouter(prefix="/rules")


@router.get("", name="read_rules", response_class=HTMLResponse)
def read_rules(request: Request, console: ConsoleDep, user: CurrentUser) -> Response:
    return render(request, "rules.html", view=rules_view(console))


@router.get("/edit", name="read_rules_editor", response_class=HTMLResponse)
def read_rules_editor(request: Request, console: ConsoleDep, user: CurrentUser) -> Response:
    view = rules_view(console)
    return render(request, "rules_edit.html", view=view, text=view.text, report=None, error=None)


@router.post("/backtest", name="create_rules_backtest", response_class=HTMLResponse)
def create_rules_backtest(
    request: Request, console: ConsoleDep, user: CurrentUser, text: Annotated[str, Form()]
) -> Response:
    view = rules_view(console)
    try:
        report = run_backtest(console, user, parse_candidate(text))
    except ActionRefused as exc:
        return render(
            request, "rules_edit.html", 422, view=view, text=text, report=None, error=str(exc)
        )
    return render(request, "rules_edit.html", view=view, text=text, report=report, error=None)


@router.post("/versions", name="create_rules_version")
def create_rules_version(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    text: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        raise ActionRefused("tick the confirmation that you reviewed the backtest")
    version = save_candidate(console, user, parse_candidate(text), "rules_saved")
    return redirect(request, "read_rules", f"Rule set v{version} saved and in force.")


@router.get("/promote/{rule_id}", name="read_rule_promotion", response_class=HTMLResponse)
def read_rule_promotion(
    request: Request, console: ConsoleDep, user: SupervisorUser, rule_id: str
) -> Response:
    view = rules_view(console)
    candidate = with_rule_live(view.in_force, rule_id)
    report = run_backtest(console, user, candidate)
    return render(
        request, "rule_promote.html", view=view, rule=view.in_force.rule(rule_id), report=report
    )


@router.post("/promote/{rule_id}", name="create_rule_promotion")
def create_rule_promotion(
    request: Request,
    console: ConsoleDep,
    user: SupervisorUser,
    rule_id: str,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        raise ActionRefused("promotion needs the confirmation box ticked")
    version = promote_rule(console, user, rule_id)
    return redirect(request, "read_rules", f"Rule {rule_id} is live (rule set v{version}).")


@router.post("/pin", name="update_rules_pin")
def update_rules_pin(
    request: Request, console: ConsoleDep, user: SupervisorUser, version: Annotated[int, Form()]
) -> Response:
    pin_version(console, user, version)
    return redirect(request, "read_rules", f"Rule set v{version} is in force.")
