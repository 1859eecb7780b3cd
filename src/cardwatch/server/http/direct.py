"""``POST /v1/authorizations`` answered without FastAPI's machinery when the request is plainly
valid: the one route that carries the load.

Profiled under load, FastAPI's routing, dependency solving and request/response wrappers cost
the service more CPU per authorisation than the decision itself. This ASGI middleware sits in
front of them and, for a JSON body that the route's own model accepts (parsed and validated
exactly as FastAPI does: ``json.loads``, then ``AuthorizationRequest.model_validate``), headers
within the route's limits and the API key when one is required, answers through the route's own
:func:`~cardwatch.server.http.routes.authorizations.authorise`. Anything else — a bad body, a bad
header, a missing key, another path — goes on to FastAPI with the body replayed, so errors keep
the route's exact answers (422 with field and problem, 400 for a body nested too deeply to
parse, 401), and the route stays what the
OpenAPI document describes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardwatch.server.http.deps import Services, bearer_matches
from cardwatch.server.http.models import AuthorizationRequest
from cardwatch.server.http.routes.authorizations import authorise

__all__ = ["PATH", "DirectAuthorisations"]

PATH = "/v1/authorizations"
_MAX_KEY = 128  # the route's Header(max_length=128)
_JSON = (b"content-type", b"application/json")


class DirectAuthorisations:
    """ASGI middleware: valid authorisations answered here, everything else passed on."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if more is not None:  # the client went away before its body arrived
            return
        request = self._valid(scope, body)
        if request is None:
            await self.app(scope, _replay(body, receive), send)
            return
        body_model, idempotency_key = request
        try:
            answer = await authorise(self.services, body_model, idempotency_key)
        except HTTPException as exc:  # as FastAPI's own handler answers it
            detail = json.dumps(
                {"detail": exc.detail}, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode()
            extra = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            await _answer(send, exc.status_code, detail, extra)
            return
        await _answer(send, 200, answer)

    def _valid(self, scope: Scope, body: bytes) -> tuple[AuthorizationRequest, str | None] | None:
        """The request's body and idempotency key when the route would accept them, else None
        (FastAPI then answers, as it always did)."""
        content_type = idempotency_key = authorization = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"idempotency-key":
                if idempotency_key is not None:
                    return None
                idempotency_key = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        if content_type is None or content_type.split(b";")[0].strip().lower() != _JSON[1]:
            return None
        if idempotency_key is not None and len(idempotency_key) > _MAX_KEY:
            return None
        api_key = self.services.api_key
        if api_key is not None and not bearer_matches(authorization, api_key):
            return None
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            return AuthorizationRequest.model_validate(data), idempotency_key
        except (ValueError, ValidationError, RecursionError):
            # json's errors are ValueErrors; a body nested deeper than the interpreter's stack
            # raises RecursionError, which FastAPI answers 400 (see ``app._body_unparsable``).
            return None


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, or the disconnect message that cut it short."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then whatever the client sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, status: int, body: bytes, extra: Any = ()) -> None:
    headers = [(b"content-length", str(len(body)).encode()), _JSON, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
