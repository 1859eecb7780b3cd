"""Rendering pages: one helper that gives every template the user, the CSRF token, the clock
and the navigation, and the Jinja filters that keep cardholder data safe on screen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from cardwatch.pan import safe_text
from cardwatch.server.console.context import TEMPLATES_DIR
from cardwatch.server.console.roles import Role, at_least

__all__ = ["make_templates", "redirect", "render", "show_card"]

#: (label, route name, least role) of the top navigation.
NAV: tuple[tuple[str, str, Role], ...] = (
    ("Queue", "read_queue", Role.ANALYST),
    ("Cases", "read_cases", Role.ANALYST),
    ("Breaches", "read_breaches", Role.ANALYST),
    ("Rules", "read_rules", Role.ANALYST),
    ("Dashboard", "read_dashboard", Role.ANALYST),
    ("Model", "read_model", Role.ANALYST),
    ("Approvals", "read_bulk_actions", Role.SUPERVISOR),
    ("Audit", "read_audit", Role.SUPERVISOR),
    ("Users", "read_users", Role.ADMIN),
)


def show_card(card_id: object, short: bool = False) -> str:
    """A card as the console may show it: its token or opaque id, any PAN masked (PCI DSS
    3.4.1); ``short`` keeps a token's first characters for dense tables.

    >>> show_card("4111111111111111")
    '411111******1111'
    >>> show_card("tok_0123456789abcdef0123456789abcdef", short=True)
    'tok_01234567…'
    """
    text = safe_text(card_id)
    if short and text.startswith("tok_") and len(text) > 16:
        return text[:12] + "…"
    return text


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value is not None else ""


def _money(value: float | None, currency: str = "") -> str:
    if value is None:
        return ""
    return f"{value:,.2f} {currency}".strip()


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["card"] = show_card
    env.filters["safe_text"] = safe_text
    env.filters["when"] = _when
    env.filters["money"] = _money
    env.filters["pct"] = _pct
    env.globals["svg"] = Markup
    return templates


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with what every page needs taken from the request's state."""
    console = request.app.state.console
    user = getattr(request.state, "user", None)
    nav = []
    if user is not None:
        nav = [(label, name) for label, name, role in NAV if at_least(user.role, role)]
    context.update(
        user=user,
        csrf_token=getattr(request.state, "csrf_token", ""),
        nav=nav,
        now=console.now(),
        message=request.query_params.get("msg"),
    )
    return console.templates.TemplateResponse(request, template, context, status_code=status_code)


def redirect(
    request: Request, route: str, message: str | None = None, **params: Any
) -> RedirectResponse:
    """A 303 to a named route (POST-redirect-GET), with an optional message shown on arrival."""
    url = str(request.url_for(route, **params))
    if message:
        from urllib.parse import urlencode

        url += "?" + urlencode({"msg": message})
    return RedirectResponse(url, status_code=303)
