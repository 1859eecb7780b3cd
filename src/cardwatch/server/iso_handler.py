"""The ISO 8583 listener's handler: each request goes to the authorisation service.

A payment is decided on the listener's event loop itself (a lock around the pending-key check,
decide and the profile update: tens of microseconds, and the store is not asked): handing it to
a worker thread and back cost several times the decision in thread wake-ups and interpreter-lock
hand-offs. Only what must ask the store — a key that may have been decided before (a retry),
a reversal — goes to a worker thread of the handler's own small pool, so that a slow store never
holds up the loop, whose timeouts answer late requests by the stand-in policy. The commit that
stores a decision is awaited on the loop, without a thread: the requests waiting together are
committed together (group commit).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cardwatch.server.iso import IsoAnswer, IsoRequest
from cardwatch.service import AuthorisationService, KeyReusedError, Pending

__all__ = ["ServiceHandler"]

T = TypeVar("T")
log = logging.getLogger("cardwatch.server.iso")
#: DE 39 for a retry key (card, STAN, RRN, DE 7) that arrives with a different payment: a format
#: error, as the contract's DE 39 list has no "duplicate transmission" (94). Never the first
#: payment's answer, which would approve a payment nobody decided.
KEY_REUSED = "30"


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
        try:
            pending = self.service.try_begin_authorise(
                request.transaction, iso_key=key, card_label=request.pan_masked
            )
            if pending is None:  # the store must be asked: off the loop
                pending = await self._call(
                    self.service.begin_authorise,
                    request.transaction,
                    iso_key=key,
                    card_label=request.pan_masked,
                )
        except KeyReusedError as exc:
            return _key_reused(request, exc)
        result = await pending.wait()
        return IsoAnswer.from_decision(result.decision)

    async def reverse(self, request: IsoRequest) -> IsoAnswer:
        original = request.original.retry_key if request.original else None
        if original is None:
            # Without DE 90 the original's transmission time, part of its retry key, is unknown:
            # the original cannot be found, and the acquirer is told so (25) rather than "done".
            log.warning(
                "%s STAN %s (%s): no DE 90 original data, original not located; answered 25",
                request.mti,
                request.stan,
                request.pan_masked,
            )
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
        try:
            pending: Pending | None = self.service.try_begin_advice(
                request.transaction, code == "00", code, iso_key=key
            )
            if pending is None:
                pending = await self._call(
                    self.service.begin_advice, request.transaction, code == "00", code, iso_key=key
                )
        except KeyReusedError as exc:
            return _key_reused(request, exc)
        await pending.wait()
        return IsoAnswer.approve()


def _key_reused(request: IsoRequest, exc: KeyReusedError) -> IsoAnswer:
    """The answer to a payment whose retry key was first sent with another payment."""
    log.warning(
        "%s STAN %s (%s): retry key reused with a different payment (%s differ); answered %s",
        request.mti,
        request.stan,
        request.pan_masked,
        ", ".join(exc.fields),
        KEY_REUSED,
    )
    return IsoAnswer.decline(KEY_REUSED)
