"""ISO 8583 bytes ↔ cardholder-safe requests and answers (pure: no clock, no socket).

Decoding splits a message in two: an :class:`IsoRequest` for the handler (PAN tokenised, amounts
in major units, DE 22 in the contract's words) and an :class:`Echo` the codec keeps to build the
answer, because the answer must return DE 2, 3, 4, 7, 11, 37, 41 and 42 exactly as received.
Track data (DE 35, 45), the PIN block (DE 52) and chip data (DE 55) are never copied anywhere.
An advice (0120 / 0220) must carry DE 39, the decision the network took in stand-in.

A message whose MTI and STAN can be read but which is otherwise wrong is answered (DE 39 ``30``
format error, a card number failing Luhn included: ``14`` would be the usual code, but the
contract's DE 39 list is what acquirers rely on): the acquirer gets an answer at once instead
of timing out into stand-in. A message without a readable MTI or STAN cannot be answered and
raises :class:`MalformedMessageError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import iso8583
import iso8583.specs

from cardwatch.pan import luhn_valid, mask, mask_pans_in, tokenise
from cardwatch.schema import ResponseCode, Transaction
from cardwatch.server.iso.codes import country_alpha2, currency_by_numeric
from cardwatch.server.iso.errors import MalformedMessageError
from cardwatch.server.iso.fields import (
    amount_from_minor,
    approval_code,
    entry_mode_and_channel,
    response_mti,
    split_name_location,
    transmission_time,
)
from cardwatch.server.iso.messages import (
    IsoAnswer,
    IsoRequest,
    MessageKind,
    NetworkFunction,
    OriginalKey,
    RetryKey,
)
from cardwatch.server.iso.wire import fast_decode, fast_encode

__all__ = [
    "ECHOED_FIELDS",
    "SPEC",
    "Echo",
    "Inbound",
    "Rejected",
    "decode_message",
    "encode_answer",
]

#: The field layout on the wire (CONTRACT.md): pyiso8583's ASCII spec with a hex bitmap.
SPEC = iso8583.specs.default_ascii
#: Fields every answer returns exactly as received.
ECHOED_FIELDS = ("2", "3", "4", "7", "11", "37", "41", "42")
_NETWORK_ECHOED = ("7", "11", "70")

# (message class digits, function digit) → kind.
_KINDS: dict[tuple[str, str], MessageKind] = {
    ("01", "0"): MessageKind.AUTHORISATION,
    ("01", "2"): MessageKind.ADVICE,
    ("02", "0"): MessageKind.FINANCIAL,
    ("02", "2"): MessageKind.ADVICE,
    ("04", "0"): MessageKind.REVERSAL,
    ("04", "2"): MessageKind.REVERSAL,
    ("08", "0"): MessageKind.NETWORK,
}


@dataclass(frozen=True, slots=True)
class Echo:
    """What an answer must return as received; kept by the codec, never given to the handler."""

    mti: str
    fields: Mapping[str, str] = field(repr=False)
    seed: str = ""  # the transaction id, for a deterministic approval code

    def __repr__(self) -> str:
        shown = {k: (mask(v) if k == "2" else v) for k, v in self.fields.items()}
        return f"Echo(mti={self.mti!r}, fields={shown!r})"


@dataclass(frozen=True, slots=True)
class Inbound:
    """A request to dispatch and the echo to answer it with."""

    request: IsoRequest
    echo: Echo


@dataclass(frozen=True, slots=True)
class Rejected:
    """A readable but invalid message: answer ``answer`` at once; ``problem`` is safe to log."""

    mti: str
    stan: str
    problem: str
    answer: IsoAnswer
    echo: Echo


class _Invalid(Exception):
    """Internal: one field is wrong; the message will be answered with ``code``."""

    def __init__(self, problem: str, code: str = ResponseCode.FORMAT_ERROR.value) -> None:
        super().__init__(problem)
        self.code = code


def decode_message(
    data: bytes | bytearray, pan_key: bytes, reference: datetime
) -> Inbound | Rejected:
    """Decode one framed message's payload.

    ``reference`` is the moment of receipt, from which DE 7's missing year is inferred. Returns
    the request to dispatch or the rejection to answer; raises :class:`MalformedMessageError`
    when the message cannot be answered at all. Any other outcome is a bug.
    """
    raw = bytes(data)
    fast = fast_decode(raw)  # the plain case; anything else as pyiso8583 decodes or refuses it
    try:
        doc = fast if fast is not None else iso8583.decode(raw, SPEC)[0]
    except iso8583.DecodeError as exc:
        problem = mask_pans_in(f"undecodable: {exc.msg} (field {exc.field}, byte {exc.pos})")
        return _reject_or_raise(exc.doc_dec, problem)
    except Exception as exc:  # pyiso8583 may raise plain errors on inputs it did not foresee
        raise MalformedMessageError(f"undecodable: {type(exc).__name__}") from None
    mti = doc.get("t", "")
    stan = doc.get("11", "")
    if not _readable(mti, stan):
        raise MalformedMessageError(_unreadable_problem(mti, stan))
    kind = _KINDS.get((mti[:2], mti[2]))
    try:
        if mti[2] not in "02":
            raise MalformedMessageError(f"MTI {mti} is not a request (STAN {stan}); ignored")
        if kind is None or mti[0] != "0" or mti[3] not in "01":
            raise _Invalid(f"MTI {mti} is not served")
        if kind is MessageKind.NETWORK:
            return _network(mti, stan, doc, reference)
        return _financial(mti, stan, kind, doc, pan_key, reference)
    except _Invalid as exc:
        return _rejected(mti, stan, str(exc), doc, exc.code)


def encode_answer(echo: Echo, answer: IsoAnswer) -> bytes:
    """The answer message (0110, 0210, 0130, 0410, 0430, 0810…) for a request, unframed.

    An approved 0100 or 0200 carries DE 38: the handler's code, else one derived from the
    transaction id (so a retry gets the same code). Advices, reversals and 0800 carry none.
    """
    doc: dict[str, str] = {"t": response_mti(echo.mti), **echo.fields}
    if answer.approved and echo.mti[1] in "12" and echo.mti[2] == "0":
        doc["38"] = answer.approval_code or approval_code(echo.seed or echo.mti + doc.get("11", ""))
    doc["39"] = answer.response_code
    fast = fast_encode(doc)
    if fast is not None:
        return fast
    raw, _ = iso8583.encode(doc, SPEC)
    return bytes(raw)


def _readable(mti: str, stan: str) -> bool:
    return len(mti) == 4 and mti.isdigit() and len(stan) == 6 and stan.isdigit()


def _unreadable_problem(mti: str, stan: str) -> str:
    shown_mti = mti if mti.isascii() and mti.isalnum() else "?"
    return f"message without a readable MTI and STAN (MTI {shown_mti!r}); cannot be answered"


def _reject_or_raise(partial: Mapping[str, str], problem: str) -> Rejected:
    mti = partial.get("t", "")
    stan = partial.get("11", "")
    if not _readable(mti, stan):
        raise MalformedMessageError(f"{problem}; {_unreadable_problem(mti, stan)}")
    try:
        response_mti(mti)
    except ValueError:
        raise MalformedMessageError(f"{problem}; MTI {mti} is not a request") from None
    return _rejected(mti, stan, problem, partial, ResponseCode.FORMAT_ERROR.value)


def _rejected(mti: str, stan: str, problem: str, doc: Mapping[str, str], code: str) -> Rejected:
    echo = Echo(mti, _echo_fields(doc, mti))
    try:
        encode_answer(echo, IsoAnswer(code))
    except Exception:  # a partially decoded field that does not encode again: keep the STAN only
        echo = Echo(mti, {"11": stan})
    return Rejected(mti, stan, mask_pans_in(problem), IsoAnswer(code), echo)


def _echo_fields(doc: Mapping[str, str], mti: str) -> dict[str, str]:
    names = _NETWORK_ECHOED if mti[1:3] == "80" else ECHOED_FIELDS
    return {k: doc[k] for k in names if k in doc}


def _network(mti: str, stan: str, doc: Mapping[str, str], reference: datetime) -> Inbound:
    function = doc.get("70")
    if function not in set(NetworkFunction):
        raise _Invalid(f"DE 70 {function!r} is not a network function cardwatch serves")
    sent_at = _time(doc["7"], reference) if "7" in doc else None
    request = IsoRequest(
        mti=mti,
        kind=MessageKind.NETWORK,
        stan=stan,
        transmitted_at=sent_at,
        network_function=function,
        is_repeat=mti[3] == "1",
    )
    return Inbound(request, Echo(mti, _echo_fields(doc, mti)))


def _financial(
    mti: str,
    stan: str,
    kind: MessageKind,
    doc: Mapping[str, str],
    pan_key: bytes,
    reference: datetime,
) -> Inbound:
    pan = _required(doc, "2")
    if not (pan.isdigit() and 12 <= len(pan) <= 19):
        raise _Invalid("DE 2 is not a card number of 12 to 19 digits")
    if not luhn_valid(pan):
        raise _Invalid(f"DE 2 {mask(pan)} fails the Luhn check")  # 30: the contract's DE 39 list
    amount_text = _required(doc, "4")
    if not amount_text.isdigit():
        raise _Invalid(f"DE 4 amount {amount_text!r} is not 12 digits")
    if not amount_text.strip("0") and kind is not MessageKind.REVERSAL:
        # HTTP refuses amount 0 too: a zero authorisation is not a payment to approve.
        raise _Invalid("DE 4 amount is zero; an authorisation must be for more than 0")
    currency = currency_by_numeric(_required(doc, "49"))
    if currency is None:
        raise _Invalid(f"DE 49 currency {doc['49']!r} is not one cardwatch knows")
    de7 = _required(doc, "7")
    sent_at = _time(de7, reference)
    merchant_id = _required(doc, "42").strip()
    if not merchant_id:
        raise _Invalid("DE 42 merchant id is blank")
    processing = _digits(doc, "3", 6)
    mcc = _digits(doc, "18", 4)
    rrn = doc.get("37", "").strip() or None
    terminal_id = doc.get("41", "").strip() or None
    name, _city, country = split_name_location(doc.get("43"))
    if country is None and "19" in doc:
        country = country_alpha2(doc["19"])
    entry_mode, channel = entry_mode_and_channel(_entry_mode_code(doc), mcc)

    card_id = tokenise(pan, pan_key)
    retry_key = RetryKey(card_id, stan, rrn, de7)
    original = _original(doc, card_id, stan, rrn) if kind is MessageKind.REVERSAL else None
    decided = _advice_code(doc) if kind is MessageKind.ADVICE else None
    minor = int(amount_text)
    transaction = Transaction(
        txn_id=retry_key.txn_id(),
        timestamp=sent_at,
        card_id=card_id,
        amount=amount_from_minor(minor, currency.exponent),
        merchant_id=merchant_id,
        currency=currency.alpha,
        mcc=mcc,
        merchant_name=name,
        merchant_country=country,
        terminal_id=terminal_id,
        channel=channel,
        entry_mode=entry_mode,
    )
    request = IsoRequest(
        mti=mti,
        kind=kind,
        stan=stan,
        transmitted_at=sent_at,
        rrn=rrn,
        processing_code=processing,
        transaction=transaction,
        pan_masked=mask(pan),
        amount_minor=minor,
        retry_key=retry_key,
        original=original,
        is_repeat=mti[3] == "1",
        response_code=decided,
    )
    return Inbound(request, Echo(mti, _echo_fields(doc, mti), seed=transaction.txn_id))


def _advice_code(doc: Mapping[str, str]) -> str:
    """An advice's DE 39: what the network decided in stand-in. Without it the advice says
    nothing the issuer can record, and is refused (``30``) rather than taken for an approval."""
    code = _required(doc, "39")
    if len(code) != 2 or not code.isascii() or not code.isalnum():
        raise _Invalid(f"DE 39 {code!r} is not a response code")
    return code


def _original(doc: Mapping[str, str], card_id: str, stan: str, rrn: str | None) -> OriginalKey:
    de90 = doc.get("90")
    if de90 is None or not de90.strip("0"):
        return OriginalKey(card_id, stan, rrn)
    if len(de90) != 42 or not de90.isdigit():
        raise _Invalid("DE 90 original data is not 42 digits")
    return OriginalKey(
        card_id=card_id,
        stan=de90[4:10],
        rrn=rrn,
        transmitted=de90[10:20],
        mti=de90[0:4],
        acquirer_id=de90[20:31].lstrip("0") or None,
    )


def _entry_mode_code(doc: Mapping[str, str]) -> str | None:
    """DE 22 when absent or well formed (3 digits), else a format error: text such as ``zzz``
    is no entry mode at all, and read as "unknown" it would be scored, and approved, as if the
    field had said nothing. A well-formed code cardwatch has no name for (``91x``, say) is still
    a real network's code and is read as an unknown entry mode."""
    de22 = doc.get("22")
    if de22 is None:
        return None
    if len(de22) != 3 or not de22.isascii() or not de22.isdigit():
        raise _Invalid(f"DE 22 {mask_pans_in(de22)!r} is not a POS entry mode (3 digits)")
    return de22


def _required(doc: Mapping[str, str], name: str) -> str:
    value = doc.get(name)
    if value is None:
        raise _Invalid(f"DE {name} is required")
    return value


def _digits(doc: Mapping[str, str], name: str, width: int) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if len(value) != width or not value.isdigit():
        raise _Invalid(f"DE {name} {value!r} is not {width} digits")
    return value


def _time(de7: str, reference: datetime) -> datetime:
    try:
        return transmission_time(de7, reference)
    except ValueError as exc:
        raise _Invalid(f"DE 7 {de7!r}: {exc}") from None
