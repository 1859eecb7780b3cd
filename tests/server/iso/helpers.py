"""Shared bits of the ISO 8583 tests: a key, a reference time, valid messages, fake handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import iso8583

from cardwatch.server.iso import (
    IsoAnswer,
    IsoClient,
    IsoListener,
    IsoRequest,
    MemoryHandler,
    StandInPolicy,
)
from cardwatch.server.iso.acquirer import authorisation_fields
from cardwatch.server.iso.codec import SPEC

KEY = b"test-pan-key"
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
T0 = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)
TIMEOUT = 5.0  # every network wait in these tests is bounded by this

TXN: dict[str, Any] = {
    "timestamp": T0,
    "amount": 42.5,
    "currency": "EUR",
    "merchant_id": "MERCH0001",
    "merchant_name": "Corner Books",
    "merchant_country": "FR",
    "mcc": "5942",
    "terminal_id": "TERM0001",
    "entry_mode": "chip",
}


def request_fields(pan: str = VISA, stan: str = "000001", **changes: Any) -> dict[str, str]:
    """A valid 0100's fields; ``changes`` edits the transaction."""
    return authorisation_fields({**TXN, **changes}, pan, stan=stan, rrn="406514000001")


def encoded(fields: dict[str, str]) -> bytes:
    raw, _ = iso8583.encode(dict(fields), SPEC)
    return bytes(raw)


def decoded(payload: bytes) -> dict[str, str]:
    doc, _ = iso8583.decode(payload, SPEC)
    return doc


class ScriptedHandler(MemoryHandler):
    """A memory handler whose authorise waits or fails as a test script says, by STAN."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delays: dict[str, float] = {}
        self.failures: dict[str, BaseException] = {}
        self.replies: dict[str, object] = {}
        self.stubborn: set[str] = set()  # STANs whose call ignores cancellation for a while

    async def authorise(self, request: IsoRequest) -> IsoAnswer:
        if request.stan in self.stubborn:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await asyncio.sleep(1.0)  # a badly behaved engine finishing its write
        if request.stan in self.delays:
            await asyncio.sleep(self.delays[request.stan])
        if request.stan in self.failures:
            raise self.failures[request.stan]
        if request.stan in self.replies:
            return self.replies[request.stan]  # type: ignore[return-value]
        return await super().authorise(request)


@asynccontextmanager
async def serving(
    handler: Any, timeout_s: float = 1.5, **kwargs: Any
) -> AsyncIterator[IsoListener]:
    listener = IsoListener(
        handler,
        KEY,
        host="127.0.0.1",
        port=0,
        timeout_s=timeout_s,
        stand_in=kwargs.pop("stand_in", StandInPolicy(floor=50.0)),
        clock=lambda: T0,
        **kwargs,
    )
    async with listener:
        yield listener


@asynccontextmanager
async def connected(listener: IsoListener, first_stan: int = 1) -> AsyncIterator[IsoClient]:
    client = IsoClient(
        "127.0.0.1", listener.port, timeout_s=TIMEOUT, clock=lambda: T0, first_stan=first_stan
    )
    async with client:
        yield client


def run(scenario: Callable[[], Awaitable[None]], limit: float = 30.0) -> None:
    """Run an async test body on a fresh loop, bounded in time."""

    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await scenario()

    asyncio.run(bounded())
