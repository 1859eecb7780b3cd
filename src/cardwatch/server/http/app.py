"""The FastAPI application: routers, and domain errors turned into 4xx answers (never 5xx for
bad input)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    for module in (authorizations, labels, cards, breaches, links, health):
        app.include_router(module.router)
    app.add_middleware(DirectAuthorisations, services=services)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back: it may hold a PAN.
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body"),
                "problem": mask_pans_in(e["msg"]),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

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
