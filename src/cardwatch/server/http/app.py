"""The FastAPI application: routers, and domain errors turned into 4xx answers (never 5xx for
bad input)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cardwatch.customer.links import LinkError
from cardwatch.errors import CardwatchError, NotFoundError, ValidationError
from cardwatch.pan import mask_pans_in
from cardwatch.server.http.deps import Services
from cardwatch.server.http.direct import DirectAuthorisations
from cardwatch.server.http.routes import authorizations, breaches, cards, health, labels, links

__all__ = ["Services", "create_app"]

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="cardwatch",
        summary="Fraud decisioning and breach response for card issuers.",
        version="0.1.0",
    )
    app.state.services = services
    if services.api_key is None:
        # Said at every start-up (``cardwatch serve`` assembles its app here): without the key
        # anyone who reaches the port can freeze cards, allow merchants and post labels.
        log.warning(
            "CARDWATCH_API_KEY is not set: the API is open to anyone who can reach it "
            "(authorisations, card freeze/unfreeze and controls, labels, breaches); set it to "
            "require 'Authorization: Bearer <key>'"
        )
    for module in (authorizations, labels, cards, breaches, links, health):
        app.include_router(module.router)
    app.add_middleware(DirectAuthorisations, services=services)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back: it may hold a PAN.
        return JSONResponse({"detail": [_problem(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, RecursionError):
            # FastAPI's json.loads ran out of stack on a deeply nested body and answered a
            # vague 400 ("error parsing the body"): say what is wrong with it.
            problem = "not parsed: JSON nested too deeply (arrays or objects within each other)"
            return JSONResponse(
                {"detail": [{"field": "body", "problem": problem}]}, status_code=400
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(CardwatchError)
    async def _domain(request: Request, exc: CardwatchError) -> JSONResponse:
        status = (
            404
            if isinstance(exc, NotFoundError)
            else 410
            if isinstance(exc, LinkError)
            else 422
            if isinstance(exc, ValidationError)
            else 409
        )
        log.info("%s %s: %s", request.method, request.url.path, mask_pans_in(str(exc)))
        return JSONResponse({"detail": mask_pans_in(str(exc))}, status_code=status)

    return app


def _problem(error: Any) -> dict[str, str]:
    """One of pydantic's errors as ``{field, problem}``: the field's name (``body`` for the body
    as a whole, never pydantic's character offset or an empty string) and what is wrong."""
    loc = [str(p) for p in error["loc"] if p != "body"]
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "json_invalid":  # loc is ("body", offset)
        field = "body"
        problem = f"not valid JSON at character {loc[0] if loc else '?'}: {ctx.get('error', '')}"
    elif "fields" in ctx:  # a model-level rule over several fields names them
        field, problem = str(ctx["fields"]), error["msg"]
    elif not loc:
        field = "body"
        problem = (
            "empty: a JSON object is required" if kind == "missing" else f"invalid: {error['msg']}"
        )
    else:
        field, problem = ".".join(loc), error["msg"]
    return {"field": field, "problem": mask_pans_in(problem)}
