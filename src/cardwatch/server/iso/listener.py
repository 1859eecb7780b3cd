"""The ISO 8583 listener: TCP connections from acquirers and networks, answered on time.

Each connection reads frames in order but answers them concurrently (answers may leave out of
order; each echoes its STAN and RRN, which is how the acquirer matches them). Every financial
request is answered within ``timeout_s`` of its arrival: by the handler if it can, else by the
stand-in policy — the listener never hangs on a slow engine. A bad message or a bad frame is one
connection's problem; a broken connection is never the listener's.

Logs carry the masked PAN only (DE 2 never appears in clear), and no message body is ever logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType

from cardwatch.pan import mask_pans_in
from cardwatch.server.iso.codec import Echo, Inbound, Rejected, decode_message, encode_answer
from cardwatch.server.iso.counters import IsoCounters
from cardwatch.server.iso.errors import (
    FrameTooLargeError,
    MalformedMessageError,
    TruncatedFrameError,
)
from cardwatch.server.iso.framing import DEFAULT_MAX_FRAME, FrameReader, frame
from cardwatch.server.iso.messages import (
    AuthorisationHandler,
    IsoAnswer,
    IsoRequest,
    MessageKind,
)
from cardwatch.server.iso.standin import StandInPolicy

__all__ = ["IsoListener", "StandInHook"]

log = logging.getLogger("cardwatch.server.iso")

#: Called after each stand-in answer with the request, the answer and why ("timeout", "error"),
#: so that the application can record the decision it did not take itself.
StandInHook = Callable[[IsoRequest, IsoAnswer, str], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Connection:
    """One client connection: its writer, the answers in flight, a lock so frames never mix."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.peer = str(writer.get_extra_info("peername"))
        self.lock = asyncio.Lock()
        self.in_flight: set[asyncio.Task[None]] = set()


class IsoListener:
    """Serves ISO 8583 over TCP with an injected :class:`AuthorisationHandler`.

    Use ``async with IsoListener(...) as listener:`` (or ``start()`` / ``stop()``), read the bound
    port from ``listener.port`` when ``port=0``, and ``serve_forever()`` for the service.
    ``max_frame`` bounds a message's size, ``body_timeout_s`` how long a started frame may take
    to arrive, ``max_in_flight`` how many requests one connection may have waiting for the
    handler (past it, that connection is not read until one is answered). ``counters`` holds
    running totals for monitoring.
    """

    def __init__(
        self,
        handler: AuthorisationHandler,
        pan_key: bytes,
        host: str = "127.0.0.1",
        port: int = 8583,
        timeout_s: float = 1.5,
        stand_in: StandInPolicy | None = None,
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        body_timeout_s: float = 5.0,
        max_in_flight: int = 512,
        clock: Callable[[], datetime] = _utcnow,
        on_stand_in: StandInHook | None = None,
    ) -> None:
        self.handler = handler
        self.pan_key = pan_key
        self.host = host
        self.requested_port = port
        self.timeout_s = timeout_s
        self.stand_in = stand_in if stand_in is not None else StandInPolicy()
        self.max_frame = max_frame
        self.body_timeout_s = body_timeout_s
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.on_stand_in = on_stand_in
        self.counters = IsoCounters()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self._abandoned: set[asyncio.Task[IsoAnswer]] = set()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self.requested_port
        )
        log.info("ISO 8583 listener on %s:%d", self.host, self.port)

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the listener is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting, let answers in flight go out (bounded by the timeout), close all."""
        if self._server is None:
            return
        self._stopping = True
        self._server.close()
        in_flight = [t for c in self._connections.values() for t in c.in_flight]
        if in_flight:
            await asyncio.wait(in_flight, timeout=self.timeout_s + 0.5)
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=2.0)
        for late in list(self._abandoned):
            late.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._server.wait_closed()
        self._server = None
        log.info("ISO 8583 listener stopped")

    async def serve_forever(self) -> None:
        """Serve until cancelled (what ``cardwatch serve`` runs)."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.stop()

    async def __aenter__(self) -> IsoListener:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- one connection ----------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = _Connection(writer)
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = conn
        self.counters.connections_opened += 1
        self.counters.connections_open += 1
        frames = FrameReader(reader, self.max_frame, self.body_timeout_s)
        try:
            await self._read_loop(frames, conn)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a bug or a socket error: this connection only
            log.error("connection %s failed: %s", conn.peer, type(exc).__name__)
        finally:
            if conn.in_flight and not self._stopping:
                await asyncio.wait(conn.in_flight, timeout=self.timeout_s + 0.5)
            for pending in conn.in_flight:
                pending.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            self.counters.connections_open -= 1
            self._connections.pop(task, None)

    async def _read_loop(self, frames: FrameReader, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                payload = await frames.read()
            except FrameTooLargeError as exc:
                self.counters.oversized_frames += 1
                log.warning("connection %s: %s", conn.peer, exc)
                continue
            except TruncatedFrameError as exc:
                self.counters.truncated_frames += 1
                log.warning("connection %s: %s; closing it", conn.peer, exc)
                return
            except (ConnectionError, OSError) as exc:
                log.info("connection %s lost: %s", conn.peer, type(exc).__name__)
                return
            if payload is None:
                return
            self.counters.frames_received += 1
            await self._dispatch(payload, conn, loop.time() + self.timeout_s)

    async def _dispatch(self, payload: bytes, conn: _Connection, deadline: float) -> None:
        try:
            decoded = decode_message(payload, self.pan_key, self.clock())
        except MalformedMessageError as exc:
            self.counters.malformed_dropped += 1
            log.warning("connection %s: %s", conn.peer, mask_pans_in(str(exc)))
            return
        except Exception as exc:  # the codec promises not to, but a bug must not kill the link
            self.counters.malformed_dropped += 1
            log.error("connection %s: codec failed with %s", conn.peer, type(exc).__name__)
            return
        if isinstance(decoded, Rejected):
            self.counters.rejected_messages += 1
            log.warning(
                "connection %s: MTI %s STAN %s answered %s: %s",
                conn.peer,
                decoded.mti,
                decoded.stan,
                decoded.answer.response_code,
                decoded.problem,
            )
            await self._send(conn, decoded.echo, decoded.answer)
            return
        if decoded.request.kind is MessageKind.NETWORK:
            self.counters.network_messages += 1
            log.info(
                "connection %s: network management %s (STAN %s)",
                conn.peer,
                decoded.request.network_function,
                decoded.request.stan,
            )
            await self._send(conn, decoded.echo, IsoAnswer.approve())
            return
        if len(conn.in_flight) >= self.max_in_flight:  # stop reading this link until one ends
            await asyncio.wait(conn.in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(self._answer(decoded, conn, deadline))
        conn.in_flight.add(task)
        task.add_done_callback(conn.in_flight.discard)

    # -- answering ---------------------------------------------------------------------------

    def _method(self, kind: MessageKind) -> Callable[[IsoRequest], Awaitable[IsoAnswer]]:
        if kind is MessageKind.REVERSAL:
            return self.handler.reverse
        if kind is MessageKind.ADVICE:
            return self.handler.advice
        return self.handler.authorise

    async def _answer(self, inbound: Inbound, conn: _Connection, deadline: float) -> None:
        request = inbound.request
        answer, why = await self._ask_handler(request, deadline)
        if answer is None:
            answer = self.stand_in.answer(request)
            if why == "timeout":
                self.counters.stand_in_timeout += 1
            else:
                self.counters.stand_in_error += 1
            log.warning(
                "stand-in answer %s for MTI %s STAN %s card %s: handler %s",
                answer.response_code,
                request.mti,
                request.stan,
                request.pan_masked,
                why,
            )
            if self.on_stand_in is not None:
                try:
                    self.on_stand_in(request, answer, why)
                except Exception as exc:
                    log.error("stand-in hook failed: %s", type(exc).__name__)
        else:
            self.counters.handler_answers += 1
        log.debug(
            "MTI %s STAN %s card %s answered %s",
            request.mti,
            request.stan,
            request.pan_masked,
            answer.response_code,
        )
        await self._send(conn, inbound.echo, answer)

    async def _ask_handler(
        self, request: IsoRequest, deadline: float
    ) -> tuple[IsoAnswer | None, str]:
        """The handler's answer, or (None, why) when it was late, failed or answered nonsense.

        A late handler is cancelled but not awaited: one that ignores cancellation must not
        delay the answer.
        """
        method = self._method(request.kind)

        async def call_handler() -> IsoAnswer:
            return await method(request)

        call = asyncio.create_task(call_handler())
        remaining = deadline - asyncio.get_running_loop().time()
        done, _ = await asyncio.wait({call}, timeout=max(remaining, 0.0))
        if not done:
            call.cancel()
            self._abandoned.add(call)
            call.add_done_callback(self._forget)
            return None, "timeout"
        try:
            answer = call.result()
        except Exception as exc:
            log.error(
                "handler failed on MTI %s STAN %s: %s: %s",
                request.mti,
                request.stan,
                type(exc).__name__,
                mask_pans_in(str(exc)),
            )
            return None, "error"
        if not isinstance(answer, IsoAnswer):
            log.error("handler returned %s, not an IsoAnswer", type(answer).__name__)
            return None, "error"
        return answer, ""

    def _forget(self, task: asyncio.Task[IsoAnswer]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("late handler call ended with %s", type(task.exception()).__name__)

    async def _send(self, conn: _Connection, echo: Echo, answer: IsoAnswer) -> None:
        try:
            payload = frame(encode_answer(echo, answer))
        except Exception as exc:
            log.error("cannot encode the answer to %r: %s", echo, type(exc).__name__)
            return
        async with conn.lock:
            if conn.writer.is_closing():
                self.counters.answers_lost += 1
                return
            try:
                conn.writer.write(payload)
                # Nearly always the answer went straight to the socket: nothing to wait for,
                # and no timer to set up and cancel for every answer.
                if conn.writer.transport.get_write_buffer_size():
                    async with asyncio.timeout(self.timeout_s + self.body_timeout_s):
                        await conn.writer.drain()
            except (ConnectionError, OSError, TimeoutError) as exc:
                self.counters.answers_lost += 1
                log.warning(
                    "connection %s: answer not delivered (%s)", conn.peer, type(exc).__name__
                )
                conn.writer.close()
                return
        self.counters.answers_sent += 1
