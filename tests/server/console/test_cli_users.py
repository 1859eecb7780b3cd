"""``cardwatch users add``: a hashed password, a validated role, an audit line."""

from __future__ import annotations

from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.server.console.passwords import verify_password
from cardwatch.store.sql import open_store
from cardwatch.workspace import Workspace


def test_users_add_reads_the_password_from_stdin(workspace: Workspace) -> None:
    runner = CliRunner()
    args = [
        "users",
        "add",
        "zoe",
        "--role",
        "supervisor",
        "--password-stdin",
        "--home",
        str(workspace.home),
    ]
    result = runner.invoke(app, args, input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    store = open_store(workspace)
    user = store.get_user("zoe")
    assert user is not None and user.role == "supervisor"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "a long enough secret")
    assert [(e.action, e.target) for e in store.audit_entries()] == [("user_added", "user:zoe")]
    again = runner.invoke(app, args, input="a long enough secret\n")
    assert again.exit_code == 2


def test_users_add_refuses_a_bad_role_or_a_short_password(workspace: Workspace) -> None:
    runner = CliRunner()
    home = ["--password-stdin", "--home", str(workspace.home)]
    bad_role = runner.invoke(
        app, ["users", "add", "x1", "--role", "root", *home], input="a long enough secret\n"
    )
    short = runner.invoke(app, ["users", "add", "x2", "--role", "analyst", *home], input="short\n")
    assert bad_role.exit_code == 2 and short.exit_code == 2
    assert open_store(workspace).get_user("x1") is None
