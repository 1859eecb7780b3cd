"""The ISO 8583 listener's handler: each request goes to the authorisation service.

Deciding is synchronous (a lock around the idempotency lookup, decide and the profile update),
so it runs in a worker thread of the handler's own small pool: the listener's event loop stays
free to answer other connections, and a decision that overruns the network's timeout is answered
by the listener's stand-in policy instead. The commit that stores the decision is then awaited on
the loop, without a thread: the requests waiting together are committed together (group commit),
and few threads means little contention for the interpreter lock with the event loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cardwatch.server.iso import IsoAnswer, IsoRequest
from cardwatch.service import AuthorisationService

__all__ = ["ServiceHandler"]

T = TypeVar("T")


class ServiceHandler:
    """``AuthorisationHandler`` over :class:`AuthorisationService`."""

    def __init__(self, service: AuthorisationService, threads: int = 2) -> None:
        self.service = service
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="cardwatch-iso")

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def authorise(self, request: IsoRequest) -> IsoAnswer:
        if request.transaction is None:
            return IsoAnswer.decline("30")
        key = request.retry_key.text if request.retry_key else None
        pending = await self._call(
            self.service.begin_authorise,
            request.transaction,
            iso_key=key,
            card_label=request.pan_masked,
        )
        result = await pending.wait()
        return IsoAnswer.from_decision(result.decision)

    async def reverse(self, request: IsoRequest) -> IsoAnswer:
        original = request.original.retry_key if request.original else None
        if original is None:
            return IsoAnswer.decline("25")  # unable to locate the original
        await self._call(self.service.reverse, original.text)
        # A reversal of an unknown or already reversed payment is acknowledged all the same:
        # the acquirer must stop resending it.
        return IsoAnswer.approve()

    async def advice(self, request: IsoRequest) -> IsoAnswer:
        if request.transaction is None:
            return IsoAnswer.decline("30")
        code = request.response_code
        if code is None:  # the codec refuses advices without DE 39: nothing to record
            return IsoAnswer.decline("30")
        key = request.retry_key.text if request.retry_key else None
        pending = await self._call(
            self.service.begin_advice, request.transaction, code == "00", code, iso_key=key
        )
        await pending.wait()
        return IsoAnswer.approve()
