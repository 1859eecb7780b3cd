"""Building the console: a FastAPI sub-application the HTTP API mounts under ``/console``.

A sub-application rather than a router because the console needs its own exception handlers
(a missing session redirects to the log-in page instead of answering JSON), its own static files
and an app-wide CSRF guard; mounted, it keeps all of that to itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cardwatch.errors import NotFoundError
from cardwatch.server.console.context import STATIC_DIR, Console, utc_now
from cardwatch.server.console.deps import csrf_protect
from cardwatch.server.console.errors import (
    ActionRefused,
    CsrfRefused,
    Forbidden,
    LoginRequired,
    PageNotFound,
)
from cardwatch.server.console.routes import ROUTERS
from cardwatch.server.console.rulework import ColumnsProvider
from cardwatch.server.console.sessions import SessionSigner
from cardwatch.server.console.views import make_templates, render
from cardwatch.store.base import ConflictError, Store
from cardwatch.workspace import Workspace

__all__ = ["create_console", "create_console_app"]


def create_console(
    ws: Workspace,
    store: Store,
    *,
    clock: Callable[[], datetime] = utc_now,
    session_ttl_seconds: int = 8 * 3600,
    secure_cookies: bool = False,
    columns_provider: ColumnsProvider | None = None,
) -> FastAPI:
    """The analyst console as an application to mount (``app.mount("/console", ...)``).

    ``secure_cookies`` marks the session cookie ``Secure``: set it whenever the console is served
    over HTTPS, which is every deployment but a laptop. ``columns_provider`` gives rule
    backtests their replayed history (default: replay the workspace's history).
    """
    console = Console(
        ws=ws,
        store=store,
        signer=SessionSigner(ws.secret_key(), ttl_seconds=session_ttl_seconds),
        templates=make_templates(),
        clock=clock,
        secure_cookies=secure_cookies,
    )
    if columns_provider is not None:
        console.cache["columns_provider"] = columns_provider
    app = FastAPI(
        title="cardwatch console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.console = console
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _install_error_pages(app)
    return app


def create_console_app(ws: Workspace, store: Store, **options: object) -> FastAPI:
    """The console alone, under ``/console`` as in the full service: for tests and trials."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/console", create_console(ws, store, **options))  # type: ignore[arg-type]

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        url = request.url_for("read_login")
        if request.method == "GET":
            url = url.include_query_params(next=request.url.path)
        return RedirectResponse(str(url), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", 403, title="Not allowed", detail=str(exc))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        detail = "The form was stale or did not come from this console. Reload and try again."
        return render(request, "error.html", 403, title="Request refused", detail=detail)

    @app.exception_handler(PageNotFound)
    async def not_found(request: Request, exc: PageNotFound) -> Response:
        return render(request, "error.html", 404, title="Not found", detail=str(exc))

    @app.exception_handler(NotFoundError)
    async def core_not_found(request: Request, exc: NotFoundError) -> Response:
        return render(request, "error.html", 404, title="Not found", detail=str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> Response:
        return render(request, "error.html", 409, title="Not done", detail=str(exc))

    @app.exception_handler(ActionRefused)
    async def refused(request: Request, exc: ActionRefused) -> Response:
        return render(request, "error.html", 409, title="Not done", detail=str(exc))
