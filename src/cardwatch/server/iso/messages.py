"""What the ISO 8583 edge hands to the authorisation handler, and what it expects back.

The request is cardholder-safe: the PAN is already a keyed token (``card_id``) with a masked form
for display, and track data, PIN blocks and chip data never reach it. The handler therefore cannot
leak what it was never given; the fields the answer must echo (DE 2 among them) stay inside the
codec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cardwatch.schema import Decision, ResponseCode, Transaction

__all__ = [
    "AuthorisationHandler",
    "IsoAnswer",
    "IsoRequest",
    "MessageKind",
    "NetworkFunction",
    "OriginalKey",
    "RetryKey",
]


class MessageKind(StrEnum):
    """The message classes the issuer host serves, by MTI."""

    AUTHORISATION = "authorisation"  # 0100 (dual message: clearing follows)
    FINANCIAL = "financial"  # 0200 (single message: ATM, PIN debit)
    ADVICE = "advice"  # 0120 / 0220: a decision the network took in stand-in
    REVERSAL = "reversal"  # 0400 / 0420: undo an earlier authorisation
    NETWORK = "network"  # 0800: sign-on, sign-off, echo


class NetworkFunction(StrEnum):
    """DE 70 network management information codes."""

    SIGN_ON = "001"
    SIGN_OFF = "002"
    ECHO = "301"


@dataclass(frozen=True, slots=True)
class RetryKey:
    """What makes two messages the same authorisation: card, STAN, RRN, transmission time.

    An acquirer that times out sends the same request again (0101, or 0100 again) with these
    unchanged; the handler must give it the same answer rather than a second decision.

    >>> RetryKey("tok_1", "000001", "401234000001", "0305140709").txn_id().startswith("iso_")
    True
    """

    card_id: str
    stan: str
    rrn: str | None
    transmitted: str  # DE 7 as sent, MMDDhhmmss

    @property
    def text(self) -> str:
        """The key as one string, ``card|stan|rrn|transmitted`` (the store's ``iso_key`` form).

        >>> RetryKey("tok_ab", "000123", "412300000001", "1123235900").text
        'tok_ab|000123|412300000001|1123235900'
        """
        return "|".join((self.card_id, self.stan, self.rrn or "", self.transmitted))

    def txn_id(self) -> str:
        """A stable transaction id for this authorisation (retries share it)."""
        return "iso_" + hashlib.sha256(self.text.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class OriginalKey:
    """Which earlier authorisation a reversal undoes: by STAN, RRN and DE 90 original data.

    The original is found by its :class:`RetryKey`, which needs the original's transmission time
    (DE 90 positions 11-20). Without DE 90 only the reversal's own STAN and RRN are known, which
    do not name the original: ``retry_key`` is then None and the reversal is answered ``25``
    (unable to locate the original).
    """

    card_id: str
    stan: str
    rrn: str | None
    transmitted: str | None = None  # original DE 7, from DE 90
    mti: str | None = None  # original MTI, from DE 90
    acquirer_id: str | None = None  # original acquiring institution, from DE 90

    @property
    def retry_key(self) -> RetryKey | None:
        """The original's :class:`RetryKey`, when DE 90 gave its transmission time."""
        if self.transmitted is None:
            return None
        return RetryKey(self.card_id, self.stan, self.rrn, self.transmitted)


@dataclass(frozen=True, slots=True)
class IsoRequest:
    """One decoded request, safe to log and to hand to the decision engine.

    ``transaction`` is ``None`` only for network management (0800). ``transaction.timestamp`` is
    DE 7, ``transaction.txn_id`` is derived from ``retry_key``. ``response_code`` is an advice's
    DE 39: the decision the network took in stand-in (``00`` approved, anything else declined).
    """

    mti: str
    kind: MessageKind
    stan: str
    transmitted_at: datetime | None = None
    rrn: str | None = None
    processing_code: str | None = None
    transaction: Transaction | None = None
    pan_masked: str | None = None
    amount_minor: int | None = None
    retry_key: RetryKey | None = None
    original: OriginalKey | None = None
    network_function: str | None = None
    is_repeat: bool = False  # MTI ending in 1: the acquirer is resending
    response_code: str | None = None  # advices (0120 / 0220): the network's DE 39

    @property
    def card_id(self) -> str | None:
        return self.transaction.card_id if self.transaction else None


@dataclass(frozen=True, slots=True)
class IsoAnswer:
    """The handler's answer: DE 39 response code and, for an approval, DE 38 approval code.

    Without an approval code an approval gets one derived from the transaction id, so that a
    retry is answered with the same code.

    >>> IsoAnswer.approve().approved, IsoAnswer.decline("59").response_code
    (True, '59')
    """

    response_code: str
    approval_code: str | None = None

    def __post_init__(self) -> None:
        code = self.response_code
        if len(code) != 2 or not code.isascii() or not code.isalnum():
            raise ValueError(f"response code must be 2 letters or digits, got {code!r}")
        ac = self.approval_code
        if ac is not None and (len(ac) != 6 or not ac.isascii() or not ac.isalnum()):
            raise ValueError(f"approval code must be 6 letters or digits, got {ac!r}")

    @property
    def approved(self) -> bool:
        return self.response_code == ResponseCode.APPROVED

    @classmethod
    def approve(cls, approval_code: str | None = None) -> IsoAnswer:
        return cls(ResponseCode.APPROVED.value, approval_code)

    @classmethod
    def decline(cls, response_code: str) -> IsoAnswer:
        return cls(str(response_code))

    @classmethod
    def from_decision(cls, decision: Decision) -> IsoAnswer:
        """The answer for an engine decision: its DE 39 code, nothing else to add."""
        return cls(str(decision.response_code))


class AuthorisationHandler(Protocol):
    """What the listener calls; the decision engine (or a fake in tests) implements it.

    Each method must answer within the listener's timeout and be safe to cancel: past the timeout
    the listener answers by its stand-in policy and cancels the call.
    """

    async def authorise(self, request: IsoRequest) -> IsoAnswer: ...  # 0100 / 0200

    async def reverse(self, request: IsoRequest) -> IsoAnswer: ...  # 0400 / 0420

    async def advice(self, request: IsoRequest) -> IsoAnswer: ...  # 0120 / 0220
