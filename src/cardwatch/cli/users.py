"""``cardwatch users``: manage the analyst console's users from the shell.

The first admin has to come from somewhere other than the console itself; this is it. The
password is prompted (not echoed) or read from standard input with ``--password-stdin`` (for
scripts), never taken as an argument, where it would land in shell history and process lists.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from cardwatch.cli.app import Home, app, console, fail, open_workspace
from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.roles import ROLES
from cardwatch.server.console.useradmin import add_user
from cardwatch.store.base import ConflictError
from cardwatch.store.records import AuditEntry

users_app = typer.Typer(help="Console users: analysts, supervisors, admins.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (2-64 of A-Z a-z 0-9 _ . @ -).")],
    role: Annotated[
        str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.", show_default=False)
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    home: Home = None,
) -> None:
    """Add a console user with an Argon2id-hashed password."""
    from cardwatch.store.sql import open_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        # A prompt without a terminal would read the password from the pipe, echoed, or abort
        # with a bare "Aborted."; a script has --password-stdin for this.
        raise fail(
            "no terminal to prompt for the password: write it to standard input and pass "
            "--password-stdin"
        )
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    ws = open_workspace(home)
    store = open_store(ws)
    now = datetime.now(UTC)
    try:
        add_user(store, name, password, role, now)
    except (ActionRefused, ConflictError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    store.append_audit(AuditEntry("cli", "user_added", f"user:{name}", now, {"role": role}))
    console.print(f"added {name} ({role})")
