"""The ISO 8583 listener's handler: each request goes to the authorisation service.

The service is synchronous (a lock around decide → store → update), so it runs in a worker
thread: the listener's event loop stays free to answer other connections, and a decision that
overruns the network's timeout is answered by the listener's stand-in policy instead.
"""

from __future__ import annotations

import asyncio

from cardwatch.server.iso import IsoAnswer, IsoRequest
from cardwatch.service import AuthorisationService

__all__ = ["ServiceHandler"]


class ServiceHandler:
    """``AuthorisationHandler`` over :class:`AuthorisationService`."""

    def __init__(self, service: AuthorisationService) -> None:
        self.service = service

    async def authorise(self, request: IsoRequest) -> IsoAnswer:
        if request.transaction is None:
            return IsoAnswer.decline("30")
        key = request.retry_key.text if request.retry_key else None
        result = await asyncio.to_thread(
            self.service.authorise,
            request.transaction,
            iso_key=key,
            card_label=request.pan_masked,
        )
        return IsoAnswer.from_decision(result.decision)

    async def reverse(self, request: IsoRequest) -> IsoAnswer:
        original = request.original.retry_key if request.original else None
        if original is None:
            return IsoAnswer.decline("25")  # unable to locate the original
        await asyncio.to_thread(self.service.reverse, original.text)
        # A reversal of an unknown or already reversed payment is acknowledged all the same:
        # the acquirer must stop resending it.
        return IsoAnswer.approve()

    async def advice(self, request: IsoRequest) -> IsoAnswer:
        if request.transaction is None:
            return IsoAnswer.decline("30")
        code = getattr(request, "response_code", None) or "00"
        key = request.retry_key.text if request.retry_key else None
        await asyncio.to_thread(
            self.service.advice, request.transaction, code == "00", code, iso_key=key
        )
        return IsoAnswer.approve()
