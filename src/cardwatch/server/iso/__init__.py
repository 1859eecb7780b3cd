"""The ISO 8583 edge of the authorisation service: codec, framing, listener and client.

The listener knows nothing of the decision engine: it calls an injected
:class:`AuthorisationHandler` and answers by a :class:`StandInPolicy` when the handler is late.
"""

from __future__ import annotations

from cardwatch.server.iso.client import IsoClient
from cardwatch.server.iso.codec import Echo, Inbound, Rejected, decode_message, encode_answer
from cardwatch.server.iso.counters import IsoCounters
from cardwatch.server.iso.errors import (
    FrameError,
    FrameTooLargeError,
    MalformedMessageError,
    TruncatedFrameError,
)
from cardwatch.server.iso.framing import FrameReader, frame
from cardwatch.server.iso.listener import IsoListener, StandInHook
from cardwatch.server.iso.memory import MemoryHandler
from cardwatch.server.iso.messages import (
    AuthorisationHandler,
    IsoAnswer,
    IsoRequest,
    MessageKind,
    NetworkFunction,
    OriginalKey,
    RetryKey,
)
from cardwatch.server.iso.standin import StandInPolicy

__all__ = [
    "AuthorisationHandler",
    "Echo",
    "FrameError",
    "FrameReader",
    "FrameTooLargeError",
    "Inbound",
    "IsoAnswer",
    "IsoClient",
    "IsoCounters",
    "IsoListener",
    "IsoRequest",
    "MalformedMessageError",
    "MemoryHandler",
    "MessageKind",
    "NetworkFunction",
    "OriginalKey",
    "Rejected",
    "RetryKey",
    "StandInHook",
    "StandInPolicy",
    "TruncatedFrameError",
    "decode_message",
    "encode_answer",
    "frame",
]
