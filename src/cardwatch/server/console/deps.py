"""Dependencies as ``Annotated`` aliases (the FastAPI-template habit): ``ConsoleDep``,
``CurrentUser``, ``SupervisorUser``, ``AdminUser``, and the CSRF guard every unsafe request
passes through."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from cardwatch.server.console.context import Console
from cardwatch.server.console.errors import CsrfRefused, Forbidden, LoginRequired
from cardwatch.server.console.roles import Role, at_least
from cardwatch.server.console.sessions import Session
from cardwatch.store.records import User

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "AdminUser",
    "ConsoleDep",
    "CurrentSession",
    "CurrentUser",
    "SupervisorUser",
    "csrf_protect",
]

SESSION_COOKIE = "cw_session"
#: Before log-in there is no session to derive a token from, so the log-in form carries a random
#: token that must equal this cookie (double submit): a foreign page cannot read the cookie.
LOGIN_CSRF_COOKIE = "cw_login_csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


def current_session(request: Request, console: ConsoleDep) -> Session:
    session = console.signer.read(request.cookies.get(SESSION_COOKIE), console.now())
    if session is None:
        raise LoginRequired()
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


def current_user(request: Request, console: ConsoleDep, session: CurrentSession) -> User:
    """The logged-in user, re-read from the store so a deleted or demoted user loses access."""
    user = console.store.get_user(session.username)
    if user is None:
        raise LoginRequired()
    request.state.user = user
    request.state.csrf_token = console.signer.csrf_token(session.session_id)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _needs(role: Role) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if not at_least(user.role, role):
            raise Forbidden(role.value)
        return user

    return check


SupervisorUser = Annotated[User, Depends(_needs(Role.SUPERVISOR))]
AdminUser = Annotated[User, Depends(_needs(Role.ADMIN))]


async def csrf_protect(request: Request, console: ConsoleDep) -> None:
    """Refuse any unsafe request whose form lacks the right token (checked in constant time).

    Installed on the whole console app, so no POST route can forget it.
    """
    if request.method not in _UNSAFE:
        return
    form = await request.form()
    token = form.get("csrf_token")
    token = token if isinstance(token, str) else None
    if request.url.path.endswith("/login"):
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not (token and expected and _same(token, expected)):
            raise CsrfRefused()
        return
    session = console.signer.read(request.cookies.get(SESSION_COOKIE), console.now())
    if session is None:
        raise LoginRequired()
    if not console.signer.csrf_valid(session.session_id, token):
        raise CsrfRefused()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
