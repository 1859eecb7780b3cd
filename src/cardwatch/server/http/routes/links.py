"""``/l/{token}``: the signed links in a notice — "it was me", "not me", "am I affected?".

Opening a link (GET) only shows what it will do, with one button: mail scanners and link
previews fetch every link in a message, and must not unblock or freeze a card by doing so. The
button (POST) acts. A breach check answers in the same shape whether or not the card is affected,
and is rate-limited per client, so that the endpoint is no oracle for card thieves.
"""

from __future__ import annotations

import html
import time
from collections import defaultdict, deque

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cardwatch.customer.links import LinkError, verify
from cardwatch.errors import NotFoundError
from cardwatch.server.http.deps import Now, ServicesDep

router = APIRouter(tags=["cardholder links"])

_TITLES = {
    "it_was_me": (
        "It was me",
        "Confirm that you made this payment: if you try it again at the "
        "same merchant, it will go through.",
    ),
    "not_me": (
        "It was not me",
        "Tell us you did not make this payment: we freeze the card at once and open a case.",
    ),
    "breach_check": (
        "Am I affected?",
        "Check whether your card was used at the compromised merchant during the breach.",
    ),
}
_LIMIT, _PERIOD = 10, 60.0
_recent: dict[str, deque[float]] = defaultdict(deque)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;
line-height:1.5;color:#1b1f24}}button{{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;
border:0;background:#0b5cad;color:#fff;cursor:pointer}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>""",
        status_code=status,
    )


def _limited(client: str) -> bool:
    """Whether ``client`` (a bucket: what was tried, from which address) has had more than
    ``_LIMIT`` attempts in ``_PERIOD`` seconds."""
    now = time.monotonic()
    seen = _recent[client]
    while seen and now - seen[0] > _PERIOD:
        seen.popleft()
    seen.append(now)
    return len(seen) > _LIMIT


@router.get("/l/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_link(token: str, services: ServicesDep, now: Now) -> HTMLResponse:
    try:
        claims = verify(token, services.actions.key, now)
    except LinkError as e:
        return _page("This link cannot be used", f"<p>{html.escape(str(e))}.</p>", 410)
    title, text = _TITLES.get(claims.kind, ("Link", ""))
    return _page(
        title,
        f'<p>{html.escape(text)}</p><form method="post"><button type="submit">'
        f"{html.escape(title)}</button></form>",
    )


@router.post("/l/{token}", response_class=HTMLResponse, include_in_schema=False)
def use_link(token: str, request: Request, services: ServicesDep, now: Now) -> HTMLResponse:
    # One bucket per address and kind of attempt: link taps, breach checks and bad tokens are
    # counted apart, so that cardholders sharing an address (a NAT) are not locked out by
    # someone else's guessing, nor a breach check by payment links.
    client = request.client.host if request.client else "?"
    try:
        claims = verify(token, services.actions.key, now)
    except LinkError as e:
        if _limited(f"bad:{client}"):
            return _page("Please wait", "<p>Too many attempts. Try again in a minute.</p>", 429)
        return _page("This link cannot be used", f"<p>{html.escape(str(e))}.</p>", 410)
    bucket = "breach" if claims.kind == "breach_check" else "link"
    if _limited(f"{bucket}:{client}"):
        return _page("Please wait", "<p>Too many attempts. Try again in a minute.</p>", 429)
    try:
        if claims.kind == "it_was_me":
            result = services.actions.it_was_me(token, now)
        elif claims.kind == "not_me":
            result = services.actions.not_me(token, now)
        elif claims.kind == "breach_check":
            check = services.actions.check_breach(token, now)
            return _page("Am I affected?", f"<p>{html.escape(check.message)}</p>")
        else:
            raise LinkError("invalid", "this link is not valid")
    except (LinkError, NotFoundError) as e:
        return _page("This link cannot be used", f"<p>{html.escape(str(e))}.</p>", 410)
    title = "Your card is frozen" if result.kind == "card_frozen" else _TITLES[claims.kind][0]
    return _page(title, f"<p>{html.escape(result.message)}</p>")
