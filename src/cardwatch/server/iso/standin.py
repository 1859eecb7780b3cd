"""What the listener answers when the handler cannot: too slow, or failing.

The network gives the issuer about two seconds; past that it decides in stand-in anyway, with
limits the issuer cannot see at that moment. Answering ourselves, by a policy the issuer chose and
measured, is better than letting the network guess — and far better than hanging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cardwatch.schema import ResponseCode
from cardwatch.server.iso.messages import IsoAnswer, IsoRequest, MessageKind

__all__ = ["ISSUER_INOPERATIVE", "StandInPolicy"]

ISSUER_INOPERATIVE = "91"


@dataclass(frozen=True)
class StandInPolicy:
    """Approve small amounts, decline the rest with ``91``; never approve what was not asked.

    ``floor`` is in major units of the transaction's currency, ``floors`` overrides it per
    currency (JPY amounts are a hundred times larger than EUR ones). Reversals and advices that
    the handler could not record are answered ``96`` by default, so that the acquirer or the
    network sends them again rather than considering them delivered.

    >>> policy = StandInPolicy(floor=50.0)
    >>> from cardwatch.schema import Transaction
    >>> from datetime import datetime, UTC
    >>> def req(amount):
    ...     txn = Transaction("t", datetime(2024, 1, 1, tzinfo=UTC), "tok_1", amount, "m1")
    ...     return IsoRequest("0100", MessageKind.AUTHORISATION, "000001", transaction=txn)
    >>> policy.answer(req(20.0)).response_code, policy.answer(req(500.0)).response_code
    ('00', '91')
    """

    floor: float = 50.0
    floors: Mapping[str, float] = field(default_factory=dict)
    above_floor_code: str = ISSUER_INOPERATIVE
    reversal_code: str = ResponseCode.SYSTEM_MALFUNCTION.value
    advice_code: str = ResponseCode.SYSTEM_MALFUNCTION.value

    def answer(self, request: IsoRequest) -> IsoAnswer:
        """The stand-in answer for one request the handler did not answer in time."""
        if request.kind is MessageKind.REVERSAL:
            return IsoAnswer(self.reversal_code)
        if request.kind is MessageKind.ADVICE:
            return IsoAnswer(self.advice_code)
        txn = request.transaction
        if txn is None:
            return IsoAnswer(ResponseCode.SYSTEM_MALFUNCTION.value)
        floor = self.floors.get(txn.currency, self.floor)
        if txn.amount <= floor:
            return IsoAnswer.approve()
        return IsoAnswer(self.above_floor_code)
