"""A small ISO 8583 client, as an acquirer or a network would connect to the issuer host.

It frames and sends requests built with pyiso8583 and matches answers by STAN, so many requests
can be in flight on one connection (answers may come back in any order). Tests, the demo and the
benchmark use it; it is a real client over TCP, not a shortcut into the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import iso8583

from cardwatch.server.iso.acquirer import authorisation_fields, network_fields, reversal_fields
from cardwatch.server.iso.codec import SPEC
from cardwatch.server.iso.errors import FrameError
from cardwatch.server.iso.framing import DEFAULT_MAX_FRAME, FrameReader, frame
from cardwatch.server.iso.messages import NetworkFunction

__all__ = ["IsoClient"]

IsoFields = dict[str, str]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IsoClient:
    """One TCP connection to an ISO 8583 host.

    Answers are matched to requests by STAN and answer MTI (0100 → 0110); anything else that
    arrives is kept in ``unmatched``.

    >>> client = IsoClient("127.0.0.1", 8583)
    >>> client.next_stan(), client.next_stan()
    ('000001', '000002')
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8583,
        *,
        timeout_s: float = 5.0,
        max_frame: int = DEFAULT_MAX_FRAME,
        clock: Callable[[], datetime] = _utcnow,
        first_stan: int = 1,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.max_frame = max_frame
        self.clock = clock
        self.unmatched: list[IsoFields] = []  # answers nobody was waiting for
        self._stans = itertools.count(first_stan)
        self._pending: dict[str, asyncio.Future[IsoFields]] = {}
        self._expected: dict[str, str | None] = {}  # STAN → the answer MTI awaited
        self._reader_task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closed_reason: str = "not connected"

    async def connect(self) -> IsoClient:
        async with asyncio.timeout(self.timeout_s):
            reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._closed_reason = ""
        self._reader_task = asyncio.create_task(self._read_answers(reader))
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._writer.wait_closed()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        self._fail_pending("client closed")

    async def __aenter__(self) -> IsoClient:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closed_reason

    def next_stan(self) -> str:
        """The next System Trace Audit Number (6 digits, wrapping after 999999)."""
        return f"{(next(self._stans) - 1) % 999999 + 1:06d}"

    # -- sending -----------------------------------------------------------------------------

    async def send(self, fields: Mapping[str, str]) -> IsoFields:
        """Encode, send and wait for the answer with the same STAN (``timeout_s`` at most)."""
        raw, _ = iso8583.encode(dict(fields), SPEC)
        return await self.request_raw(bytes(raw), fields["11"])

    async def request_raw(self, payload: bytes, stan: str) -> IsoFields:
        """Send an already encoded payload (framed here) and wait for the answer to ``stan``."""
        if stan in self._pending:
            raise ValueError(f"STAN {stan} is already in flight on this connection")
        future: asyncio.Future[IsoFields] = asyncio.get_running_loop().create_future()
        self._pending[stan] = future
        self._expected[stan] = _answer_mti(payload)
        try:
            await self.write_bytes(frame(payload))
            async with asyncio.timeout(self.timeout_s):
                return await future
        finally:
            self._pending.pop(stan, None)
            self._expected.pop(stan, None)

    async def write_bytes(self, data: bytes) -> None:
        """Write raw bytes to the connection (tests use it to send broken frames)."""
        if self._writer is None or self._closed_reason:
            raise ConnectionError(f"not connected: {self._closed_reason}")
        self._writer.write(data)
        await self._writer.drain()

    async def authorise(
        self,
        txn: Mapping[str, Any],
        pan: str,
        *,
        mti: str = "0100",
        processing_code: str = "000000",
        stan: str | None = None,
        rrn: str | None = None,
    ) -> tuple[IsoFields, IsoFields]:
        """Send an authorisation (0100) or financial request (0200); returns (request, answer)."""
        stan = stan or self.next_stan()
        fields = authorisation_fields(
            txn,
            pan,
            stan=stan,
            rrn=rrn or self._rrn(stan),
            mti=mti,
            processing_code=processing_code,
            transmitted_at=None if txn.get("timestamp") else self.clock(),
        )
        return fields, await self.send(fields)

    async def advise(
        self, txn: Mapping[str, Any], pan: str, response_code: str, *, mti: str = "0120"
    ) -> tuple[IsoFields, IsoFields]:
        """Send the advice (0120 / 0220) of a decision taken in stand-in, ``response_code`` its
        DE 39; returns (request, answer)."""
        stan = self.next_stan()
        fields = authorisation_fields(
            txn,
            pan,
            stan=stan,
            rrn=self._rrn(stan),
            mti=mti,
            transmitted_at=None if txn.get("timestamp") else self.clock(),
            response_code=response_code,
        )
        return fields, await self.send(fields)

    async def reverse(
        self,
        original: Mapping[str, str],
        *,
        mti: str = "0400",
        with_original_data: bool = True,
    ) -> tuple[IsoFields, IsoFields]:
        """Reverse an earlier request (its fields as sent); returns (request, answer)."""
        fields = reversal_fields(
            original,
            stan=self.next_stan(),
            transmitted_at=self.clock(),
            mti=mti,
            with_original_data=with_original_data,
        )
        return fields, await self.send(fields)

    async def network(self, function: str) -> IsoFields:
        """Send a 0800 with DE 70 ``function``; returns the 0810."""
        return await self.send(
            network_fields(function, stan=self.next_stan(), transmitted_at=self.clock())
        )

    async def echo(self) -> IsoFields:
        return await self.network(NetworkFunction.ECHO)

    async def sign_on(self) -> IsoFields:
        return await self.network(NetworkFunction.SIGN_ON)

    async def sign_off(self) -> IsoFields:
        return await self.network(NetworkFunction.SIGN_OFF)

    # -- receiving ---------------------------------------------------------------------------

    def _rrn(self, stan: str) -> str:
        """A retrieval reference number: Julian day and hour (as networks do) and the STAN."""
        now = self.clock()
        return f"{now:%y}{now.timetuple().tm_yday:03d}{now:%H}{stan}"[-12:]

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader(reader, self.max_frame)
        try:
            while True:
                payload = await frames.read()
                if payload is None:
                    break
                try:
                    doc, _ = iso8583.decode(payload, SPEC)
                except iso8583.DecodeError:
                    continue
                stan = doc.get("11", "")
                future = self._pending.get(stan)
                expected = self._expected.get(stan)
                if (
                    future is not None
                    and not future.done()
                    and (expected is None or doc.get("t") == expected)
                ):
                    future.set_result(doc)
                else:
                    self.unmatched.append(doc)
        except (FrameError, ConnectionError, OSError) as exc:
            self._fail_pending(type(exc).__name__)
            return
        self._fail_pending("connection closed by the host")

    def _fail_pending(self, reason: str) -> None:
        self._closed_reason = reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))


def _answer_mti(payload: bytes) -> str | None:
    """The MTI an answer to ``payload`` carries, when its first four bytes are a request MTI."""
    mti = payload[:4].decode("ascii", "replace")
    if len(mti) == 4 and mti.isdigit() and mti[2] in "02":
        return mti[:2] + str(int(mti[2]) + 1) + "0"
    return None
