"""Managing console users: admins only, every change audited (PCI DSS 8.2, 10.2.1.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.deps import AdminUser, ConsoleDep
from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.queries import list_users, set_user_role
from cardwatch.server.console.roles import ROLES
from cardwatch.server.console.useradmin import add_user
from cardwatch.server.console.views import redirect, render

router = APIRouter(prefix="/users")


@router.get("", name="read_users", response_class=HTMLResponse)
def read_users(request: Request, console: ConsoleDep, user: AdminUser) -> Response:
    return render(request, "users.html", users=list_users(console.store), roles=ROLES)


@router.post("", name="create_user")
def create_user(
    request: Request,
    console: ConsoleDep,
    user: AdminUser,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    add_user(console.store, username, password, role, console.now())
    console.audit(user.username, "user_added", f"user:{username}", role=role)
    return redirect(request, "read_users", f"User {username} added as {role}.")


@router.post("/{username}/role", name="update_user_role")
def update_user_role(
    request: Request,
    console: ConsoleDep,
    user: AdminUser,
    username: str,
    role: Annotated[str, Form()],
) -> Response:
    if role not in ROLES:
        raise ActionRefused(f"unknown role {role!r}")
    if username == user.username:
        raise ActionRefused("an admin cannot change their own role")
    if not set_user_role(console.store, username, role):
        raise ActionRefused(f"could not change the role of {username!r}")
    console.audit(user.username, "user_role_changed", f"user:{username}", role=role)
    return redirect(request, "read_users", f"{username} is now {role}.")
