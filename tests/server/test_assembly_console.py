"""The console mounted by ``cardwatch serve``: its session cookie is ``Secure`` whenever the
service is served over https (the base URL of its links says so), so it never travels in clear."""

from __future__ import annotations

import pytest
from starlette.routing import Mount

from cardwatch.server.assembly import build
from cardwatch.workspace import Workspace


@pytest.mark.parametrize(("base_url", "secure"), [("https://bank.example", True),
                                                   ("http://127.0.0.1:8000", False)])  # fmt: skip
def test_the_console_cookie_is_secure_behind_https(
    workspace: Workspace, base_url: str, secure: bool
) -> None:
    running = build(workspace, base_url=base_url, warm=False)
    try:
        mount = next(r for r in running.app.routes if isinstance(r, Mount) and r.path == "/console")
        assert mount.app.state.console.secure_cookies is secure  # type: ignore[union-attr]
    finally:
        running.services.store.close()
