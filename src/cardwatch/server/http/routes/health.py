"""``/health`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cardwatch.server.http.deps import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/health")
def read_health(services: ServicesDep) -> dict[str, str]:
    services.store.find_decision_by_key(idempotency_key="health-check")  # the store answers
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
def read_metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
