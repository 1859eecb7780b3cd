"""ISO 8583 through the real service: a retry key (card, STAN, RRN, DE 7) that comes back with
a different payment is refused with DE 39 30, never given the first payment's approval; a
reversal that cannot name its original is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.server.iso.helpers import KEY, TXN, VISA

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine
from cardwatch.pan import tokenise
from cardwatch.server.iso import IsoClient, IsoListener
from cardwatch.server.iso.fields import amount_to_minor
from cardwatch.server.iso_handler import ServiceHandler
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore


def _service() -> AuthorisationService:
    store = MemoryStore()
    actions = CardholderActions(store, b"secret")
    return AuthorisationService(
        Engine(controls=EngineControls(actions.controls)), store, secret_key=b"secret"
    )


def test_a_retry_key_with_another_amount_is_a_format_error() -> None:
    service = _service()

    async def scenario() -> None:
        listener = IsoListener(ServiceHandler(service), KEY, "127.0.0.1", 0, timeout_s=3.0)
        async with listener, IsoClient("127.0.0.1", listener.port, timeout_s=5) as client:
            request, answer = await client.authorise(TXN, VISA)
            assert answer["39"] == "00"
            changed = {**request, "4": str(amount_to_minor(9999, 2)).zfill(12)}
            other = await client.send(changed)
            assert other["39"] == "30" and "38" not in other
            again = await client.send(request)  # the true retry still gets its answer
            assert again["39"] == "00" and again.get("38") == answer.get("38")
            assert len(service.store.decisions_for_card(tokenise(VISA, KEY), 10)) == 1

    asyncio.run(scenario())


def test_a_reversal_without_de90_is_answered_25_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = _service()

    async def scenario() -> None:
        listener = IsoListener(ServiceHandler(service), KEY, "127.0.0.1", 0, timeout_s=3.0)
        async with listener, IsoClient("127.0.0.1", listener.port, timeout_s=5) as client:
            request, _ = await client.authorise(TXN, VISA)
            _, reversal = await client.reverse(request, with_original_data=False)
            assert reversal["39"] == "25"

    with caplog.at_level(logging.INFO, logger="cardwatch"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records]
    assert any("DE 90" in line and "25" in line for line in lines), lines
    assert not any(VISA in line for line in lines)
