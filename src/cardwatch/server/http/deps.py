"""What every route depends on, as ``Annotated`` aliases (the FastAPI template's habit)."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from prometheus_client import CollectorRegistry

from cardwatch.customer.actions import CardholderActions
from cardwatch.service import AuthorisationService
from cardwatch.store.base import Store
from cardwatch.workspace import Workspace

__all__ = ["ApiKey", "Now", "Services", "ServicesDep", "bearer_matches"]


@dataclass
class Services:
    """Everything the HTTP API talks to, built once by ``cardwatch serve`` (or a test)."""

    workspace: Workspace
    service: AuthorisationService
    store: Store
    actions: CardholderActions
    pan_key: bytes
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    api_key: str | None = field(default_factory=lambda: os.environ.get("CARDWATCH_API_KEY"))


def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


def _now(services: ServicesDep) -> datetime:
    return services.service.clock()


Now = Annotated[datetime, Depends(_now)]


def bearer_matches(authorization: str | None, api_key: str) -> bool:
    """True when ``authorization`` is ``Bearer <api_key>`` (RFC 6750: the scheme in any case).

    The scheme is required: a bare key in the header is a client that does not speak the
    protocol the API documents, and accepting it would make "Bearer" optional by accident.
    The key is compared in constant time (``hmac.compare_digest``), so the time of a refusal
    does not tell how much of a guess was right; it is always compared, even when the scheme
    is wrong, for the same reason.
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    same = hmac.compare_digest(token.strip().encode(), api_key.encode())
    return scheme.lower() == "bearer" and same


def _api_key(services: ServicesDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """When ``CARDWATCH_API_KEY`` is set, the issuer's systems must present it as a bearer token."""
    if services.api_key is None:
        return
    if not bearer_matches(authorization, services.api_key):
        raise HTTPException(401, "a valid API key is required", {"WWW-Authenticate": "Bearer"})


ApiKey = Depends(_api_key)
