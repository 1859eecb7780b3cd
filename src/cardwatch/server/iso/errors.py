"""Errors of the ISO 8583 edge: messages that cannot be understood and frames that cannot be read.

They derive from :class:`cardwatch.errors.CardwatchError` so that one ``except`` catches every
error cardwatch raises on purpose. Their messages never hold a PAN: they are built from masked or
non-sensitive values only, because the listener logs them.
"""

from __future__ import annotations

from cardwatch.errors import CardwatchError

__all__ = ["FrameError", "FrameTooLargeError", "MalformedMessageError", "TruncatedFrameError"]


class MalformedMessageError(CardwatchError):
    """A message too broken to answer: its MTI or its STAN cannot be read.

    (A message whose MTI and STAN are readable is answered with DE 39 ``30`` instead.)
    """


class FrameError(CardwatchError):
    """The byte stream of one connection does not hold a well-formed frame."""


class FrameTooLargeError(FrameError):
    """A frame longer than the configured maximum; its bytes were skipped, the stream goes on."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"frame of {size} bytes exceeds the {limit}-byte limit; skipped")


class TruncatedFrameError(FrameError):
    """The stream ended (or stalled) inside a frame: the connection cannot be resynchronised."""

    def __init__(self, expected: int, received: int | None) -> None:
        self.expected = expected
        self.received = received  # None: the sender stalled, what it sent is unknown
        got = "stalled before all" if received is None else f"{received} of"
        super().__init__(f"frame truncated: {got} {expected} bytes received")
