"""Log-in, log-out and the console's front door."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cardwatch.server.console.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleDep,
    CurrentSession,
    CurrentUser,
)
from cardwatch.server.console.login import attempt_login
from cardwatch.server.console.views import redirect, render

router = APIRouter()


@router.get("/", name="read_home")
def read_home(request: Request, user: CurrentUser) -> RedirectResponse:
    return redirect(request, "read_queue")


@router.get("/login", name="read_login", response_class=HTMLResponse)
def read_login(request: Request, console: ConsoleDep, next: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", login_token=token, next=next, error=None)
    _set_cookie(request, response, console.secure_cookies, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login", name="create_session")
def create_session(
    request: Request,
    console: ConsoleDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    client = request.client.host if request.client else "?"
    user = attempt_login(console, username, password, client)
    if user is None:
        token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        error = "Wrong user name or password (or the account is locked for a while)."
        return render(request, "login.html", 401, login_token=token, next=next, error=error)
    # Only a path inside this console may be the next page: never an open redirect.
    prefix = request.scope.get("root_path", "")
    target = next if next.startswith(prefix + "/") and not next.startswith("//") else None
    response: Response = (
        RedirectResponse(target, status_code=303) if target else redirect(request, "read_queue")
    )
    cookie = console.signer.issue(user.username, console.now())
    ttl = console.signer.ttl_seconds
    _set_cookie(request, response, console.secure_cookies, SESSION_COOKIE, cookie, ttl)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=_cookie_path(request))
    return response


@router.post("/logout", name="delete_session")
def delete_session(
    request: Request, console: ConsoleDep, session: CurrentSession, user: CurrentUser
) -> Response:
    console.signer.revoke(session)
    console.audit(user.username, "logout", f"user:{user.username}")
    response = redirect(request, "read_login", "Logged out.")
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
    return response


def _cookie_path(request: Request) -> str:
    return (request.scope.get("root_path") or "") + "/"


def _set_cookie(
    request: Request, response: Response, secure: bool, name: str, value: str, max_age: int
) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it), scoped to the
    console's path, and Secure when served over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path=_cookie_path(request),
    )
