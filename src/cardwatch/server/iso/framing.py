"""Length-prefixed framing: a 2-byte big-endian length (not counting itself) before each message.

This is what most issuer hosts speak (jPOS ``NACChannel``). A bad frame is one connection's
problem: an oversized frame is skipped and the stream goes on; a frame cut short by the end of
the stream (or by a sender that stops mid-frame) ends that connection only.
"""

from __future__ import annotations

import asyncio

from cardwatch.server.iso.errors import FrameTooLargeError, TruncatedFrameError

__all__ = ["DEFAULT_MAX_FRAME", "HEADER_SIZE", "FrameReader", "frame"]

HEADER_SIZE = 2
#: Largest payload accepted by default: an authorisation is a few hundred bytes.
DEFAULT_MAX_FRAME = 4096
_MAX_LENGTH = 0xFFFF
_SKIP_CHUNK = 4096


def frame(payload: bytes) -> bytes:
    """The payload with its 2-byte big-endian length in front.

    >>> frame(b"0800")
    b'\\x00\\x040800'
    """
    if len(payload) > _MAX_LENGTH:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a 2-byte length")
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


class FrameReader:
    """Reads frames from one asyncio stream.

    ``read()`` returns the next payload, or ``None`` when the peer closed cleanly between frames.
    Zero-length frames (keep-alives on some links) are passed over. Raises
    :class:`FrameTooLargeError` after skipping an oversized frame (the next ``read()`` goes on)
    and :class:`TruncatedFrameError` when the stream ends, or stalls for ``body_timeout_s``,
    inside a frame (the connection cannot be resynchronised and should be closed).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        max_size: int = DEFAULT_MAX_FRAME,
        body_timeout_s: float = 5.0,
    ) -> None:
        self.reader = reader
        self.max_size = max_size
        self.body_timeout_s = body_timeout_s

    async def read(self) -> bytes | None:
        while True:
            try:
                header = await self.reader.readexactly(HEADER_SIZE)
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    return None
                raise TruncatedFrameError(HEADER_SIZE, len(exc.partial)) from None
            size = int.from_bytes(header, "big")
            if size == 0:
                continue
            if size > self.max_size:
                await self._skip(size)
                raise FrameTooLargeError(size, self.max_size)
            return await self._body(size)

    async def _body(self, size: int) -> bytes:
        # A frame's body nearly always arrives with its header: already buffered, it is read
        # without setting up (and cancelling) a timer. ``_buffer`` is the StreamReader's own.
        buffered = getattr(self.reader, "_buffer", None)
        if buffered is not None and len(buffered) >= size:
            return await self.reader.readexactly(size)
        try:
            async with asyncio.timeout(self.body_timeout_s):
                return await self.reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise TruncatedFrameError(size, len(exc.partial)) from None
        except TimeoutError:
            raise TruncatedFrameError(size, None) from None

    async def _skip(self, size: int) -> None:
        left = size
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while left:
                    chunk = await self.reader.read(min(left, _SKIP_CHUNK))
                    if not chunk:
                        raise TruncatedFrameError(size, size - left)
                    left -= len(chunk)
        except TimeoutError:
            raise TruncatedFrameError(size, size - left) from None
