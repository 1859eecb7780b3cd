"""An in-memory authorisation handler: the listener's stand-in engine for tests, demo and bench.

It approves up to a limit and declines above it, remembers every request it saw and answers a
retry with its first answer, like the real engine must. Nothing here is a fraud decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cardwatch.schema import ResponseCode
from cardwatch.server.iso.messages import IsoAnswer, IsoRequest, RetryKey

__all__ = ["MemoryHandler"]


@dataclass
class MemoryHandler:
    """Approve amounts up to ``limit`` (major units), decline above with ``decline_code``.

    >>> import asyncio
    >>> from datetime import datetime, UTC
    >>> from cardwatch.schema import Transaction
    >>> from cardwatch.server.iso.messages import MessageKind
    >>> txn = Transaction("t1", datetime(2024, 1, 1, tzinfo=UTC), "tok_1", 900.0, "m1")
    >>> req = IsoRequest("0100", MessageKind.AUTHORISATION, "000001", transaction=txn)
    >>> asyncio.run(MemoryHandler(limit=500).authorise(req)).response_code
    '05'
    """

    limit: float = 1000.0
    decline_code: str = ResponseCode.DO_NOT_HONOUR.value
    record: bool = True  # keep requests and answers (off for the benchmark)
    authorised: list[IsoRequest] = field(default_factory=list)
    reversed: list[IsoRequest] = field(default_factory=list)
    advices: list[IsoRequest] = field(default_factory=list)
    answers: dict[RetryKey, IsoAnswer] = field(default_factory=dict)

    async def authorise(self, request: IsoRequest) -> IsoAnswer:
        key = request.retry_key if self.record else None
        if self.record:
            self.authorised.append(request)
        if key is not None and key in self.answers:
            return self.answers[key]
        txn = request.transaction
        ok = txn is not None and txn.amount <= self.limit
        answer = IsoAnswer.approve() if ok else IsoAnswer.decline(self.decline_code)
        if key is not None:
            self.answers[key] = answer
        return answer

    async def reverse(self, request: IsoRequest) -> IsoAnswer:
        if self.record:
            self.reversed.append(request)
        return IsoAnswer.approve()

    async def advice(self, request: IsoRequest) -> IsoAnswer:
        if self.record:
            self.advices.append(request)
        return IsoAnswer.approve()
