"""Cardholder controls: travel notices, trusted merchants, blocks, freeze — the cardholder's own
choices, which the engine honours before any model."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException

from cardwatch.customer.actions import check_card_id
from cardwatch.server.http.deps import ApiKey, Now, ServicesDep
from cardwatch.server.http.models import ControlBody
from cardwatch.store.records import Control

router = APIRouter(
    prefix="/v1/cards/{card_id}", tags=["cardholder controls"], dependencies=[ApiKey]
)


def _out(control: Control) -> dict[str, Any]:
    return {
        "control_id": control.control_id,
        "kind": control.kind,
        "value": control.value,
        "valid_from": control.valid_from,
        "valid_to": control.valid_to,
    }


def _card(card_id: str) -> str:
    """The card's token from the URL: a card number (even inside other text) or an overlong
    token is refused with 422 before anything is stored."""
    return check_card_id(card_id)


@router.get("/controls")
def read_controls(card_id: str, services: ServicesDep, now: Now) -> list[dict[str, Any]]:
    return [_out(c) for c in services.actions.list_controls(_card(card_id), now)]


@router.post("/travel-notices", status_code=201)
def create_travel_notice(
    card_id: str, body: ControlBody, services: ServicesDep, now: Now
) -> dict[str, Any]:
    if not body.countries:
        raise HTTPException(422, "countries: at least one country")
    start = body.valid_from or now
    end = body.valid_to or start + timedelta(days=14)
    return _out(services.actions.travel_notice(_card(card_id), body.countries, start, end, now))


@router.post("/allowed-merchants", status_code=201)
def create_allowed_merchant(
    card_id: str, body: ControlBody, services: ServicesDep, now: Now
) -> dict[str, Any]:
    if not body.merchant_id:
        raise HTTPException(422, "merchant_id: required")
    control = services.actions.allow_merchant(
        _card(card_id),
        body.merchant_id,
        now,
        until=body.valid_to,
        merchant_name=body.merchant_name,
        start=body.valid_from,
    )
    return _out(control)


@router.post("/blocks", status_code=201)
def create_block(
    card_id: str, body: ControlBody, services: ServicesDep, now: Now
) -> list[dict[str, Any]]:
    if not body.countries and not body.channels:
        raise HTTPException(422, "countries or channels: give at least one")
    card, start, end = _card(card_id), body.valid_from, body.valid_to
    made = []
    if body.countries:
        made.append(services.actions.block_countries(card, body.countries, now, end, start=start))
    if body.channels:
        made.append(services.actions.block_channels(card, body.channels, now, end, start=start))
    return [_out(c) for c in made]


@router.post("/freeze", status_code=201)
def create_freeze(card_id: str, services: ServicesDep, now: Now) -> dict[str, Any]:
    return _out(services.actions.freeze(_card(card_id), now))


@router.post("/unfreeze")
def delete_freeze(card_id: str, services: ServicesDep, now: Now) -> dict[str, int]:
    return {"lifted": services.actions.unfreeze(_card(card_id), now)}


@router.delete("/controls/{control_id}")
def delete_control(
    card_id: str, control_id: str, services: ServicesDep, now: Now
) -> dict[str, bool]:
    return {"revoked": services.actions.revoke(_card(card_id), control_id, now)}
