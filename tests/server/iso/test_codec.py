"""The codec maps ISO 8583 fields to a cardholder-safe request and answers echoing the request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cardwatch.pan import tokenise
from cardwatch.server.iso import (
    Inbound,
    IsoAnswer,
    MalformedMessageError,
    MessageKind,
    Rejected,
    decode_message,
    encode_answer,
)
from cardwatch.server.iso.acquirer import (
    PAYMENT_COLUMNS,
    authorisation_fields,
    network_fields,
    payment_of,
    reversal_fields,
)
from cardwatch.server.iso.codec import ECHOED_FIELDS

from .helpers import KEY, T0, VISA, decoded, encoded, request_fields


def inbound(fields: dict[str, str], reference: datetime = T0) -> Inbound:
    result = decode_message(encoded(fields), KEY, reference)
    assert isinstance(result, Inbound), result
    return result


def rejected(fields: dict[str, str]) -> Rejected:
    result = decode_message(encoded(fields), KEY, T0)
    assert isinstance(result, Rejected), result
    return result


def test_authorisation_maps_every_field() -> None:
    fields = request_fields()
    fields["19"] = "250"
    fields["35"] = VISA + "=2512101123456789"  # track 2: must go nowhere
    fields["52"] = "0123456789ABCDEF"
    request = inbound(fields).request
    txn = request.transaction
    assert txn is not None
    assert request.kind is MessageKind.AUTHORISATION and request.mti == "0100"
    assert txn.card_id == tokenise(VISA, KEY) and request.pan_masked == "411111******1111"
    assert (txn.amount, txn.currency, request.amount_minor) == (42.5, "EUR", 4250)
    assert txn.timestamp == T0
    assert (txn.merchant_id, txn.terminal_id, txn.mcc) == ("MERCH0001", "TERM0001", "5942")
    assert (txn.merchant_name, txn.merchant_country) == ("Corner Books", "FR")
    assert (txn.entry_mode, txn.channel) == ("chip", "card_present")
    assert (request.stan, request.rrn, request.processing_code) == (
        "000001",
        "406514000001",
        "000000",
    )
    assert request.retry_key is not None and request.retry_key.transmitted == "0305140709"
    assert txn.txn_id == request.retry_key.txn_id()
    shown = repr(request)
    assert VISA not in shown and "2512101123456789" not in shown and "0123456789ABCDEF" not in shown


def test_a_transaction_goes_through_an_0100_and_back() -> None:
    """What the demo and the bench send: a contract row or a Transaction, as the codec reads it."""
    request = inbound(request_fields()).request
    txn = request.transaction
    assert txn is not None
    again = authorisation_fields(txn, VISA, stan="000001", rrn="406514000001")
    assert again == request_fields()
    row = {**payment_of(txn), "txn_id": "row-1", "card_id": "c1", "is_fraud": None}
    assert authorisation_fields(row, VISA, stan="000001", rrn="406514000001") == again
    assert set(payment_of(txn)) <= set(PAYMENT_COLUMNS)


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("EUR", 12.34, "000000001234"), ("JPY", 1500, "000000001500"), ("KWD", 1.5, "000000001500")],
)
def test_amount_uses_the_currency_exponent(currency: str, amount: float, minor: str) -> None:
    fields = request_fields(amount=amount, currency=currency)
    assert fields["4"] == minor
    txn = inbound(fields).request.transaction
    assert txn is not None and txn.amount == amount and txn.currency == currency


@pytest.mark.parametrize(
    ("de22", "entry", "channel"),
    [
        ("051", "chip", "card_present"),
        ("071", "contactless", "card_present"),
        ("901", "magstripe", "card_present"),
        ("801", "fallback", "card_present"),
        ("012", "manual", "moto"),
        ("812", "ecommerce", "ecommerce"),
        ("999", None, None),
    ],
)
def test_entry_mode_and_channel(de22: str, entry: str | None, channel: str | None) -> None:
    fields = request_fields()
    fields["22"] = de22
    txn = inbound(fields).request.transaction
    assert txn is not None and (txn.entry_mode, txn.channel) == (entry, channel)


def test_year_of_de7_comes_from_the_reference_not_the_clock() -> None:
    fields = request_fields(timestamp=datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC))
    new_year = datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC)
    assert inbound(fields, new_year).request.transmitted_at == datetime(
        2023, 12, 31, 23, 59, 59, tzinfo=UTC
    )


def test_country_falls_back_to_de19_when_de43_has_none() -> None:
    fields = request_fields(merchant_country=None)
    fields["19"] = "276"
    fields.pop("43")
    txn = inbound(fields).request.transaction
    assert txn is not None and txn.merchant_country == "DE" and txn.merchant_name is None


def test_answer_echoes_the_required_fields_as_received() -> None:
    fields = request_fields()
    result = inbound(fields)
    answer = decoded(encode_answer(result.echo, IsoAnswer.approve()))
    assert answer["t"] == "0110"
    for name in ECHOED_FIELDS:
        assert answer[name] == fields[name], name
    assert answer["39"] == "00" and len(answer["38"]) == 6
    again = decoded(encode_answer(inbound(fields).echo, IsoAnswer.approve()))
    assert again["38"] == answer["38"]  # a retry gets the same approval code
    declined = decoded(encode_answer(result.echo, IsoAnswer.decline("59")))
    assert declined["39"] == "59" and "38" not in declined
    assert VISA not in repr(result.echo)


def test_financial_request_answers_0210() -> None:
    result = inbound({**request_fields(), "t": "0200"})
    assert result.request.kind is MessageKind.FINANCIAL
    assert decoded(encode_answer(result.echo, IsoAnswer.approve()))["t"] == "0210"


def test_reversal_with_original_data_keys_the_original() -> None:
    original = request_fields()
    rev = reversal_fields(original, stan="000077", transmitted_at=T0)
    result = inbound(rev)
    request = result.request
    assert request.kind is MessageKind.REVERSAL and request.stan == "000077"
    assert request.original is not None
    assert (request.original.stan, request.original.rrn, request.original.mti) == (
        "000001",
        "406514000001",
        "0100",
    )
    assert request.original.retry_key == inbound(original).request.retry_key
    assert decoded(encode_answer(result.echo, IsoAnswer.approve()))["t"] == "0410"


def test_reversal_without_de90_matches_by_stan_and_rrn() -> None:
    rev = reversal_fields(request_fields(), stan="x", transmitted_at=T0, with_original_data=False)
    rev["t"] = "0420"
    request = inbound(rev).request
    assert request.original is not None and request.original.retry_key is None
    assert (request.original.stan, request.original.rrn) == ("000001", "406514000001")


def test_advice_and_repeat() -> None:
    request = inbound({**request_fields(), "t": "0121", "39": "00"}).request
    assert request.kind is MessageKind.ADVICE and request.is_repeat
    assert request.response_code == "00"
    declined = inbound({**request_fields(), "t": "0220", "39": "51"}).request
    assert declined.kind is MessageKind.ADVICE and declined.response_code == "51"
    assert inbound(request_fields()).request.response_code is None  # only advices carry it


@pytest.mark.parametrize("de39", [None, "0 ", "*1"])
def test_advice_without_a_readable_decision_is_refused(de39: str | None) -> None:
    fields = {**request_fields(), "t": "0120"}
    if de39 is not None:
        fields["39"] = de39
    result = rejected(fields)
    assert result.answer.response_code == "30" and "DE 39" in result.problem


@pytest.mark.parametrize(("function"), ["001", "002", "301"])
def test_network_management(function: str) -> None:
    result = inbound(network_fields(function, stan="000005", transmitted_at=T0))
    assert result.request.kind is MessageKind.NETWORK
    assert result.request.network_function == function
    answer = decoded(encode_answer(result.echo, IsoAnswer.approve()))
    assert (answer["t"], answer["39"], answer["70"], answer["11"]) == (
        "0810",
        "00",
        function,
        "000005",
    )
    assert "38" not in answer


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"4": "00000000012A"}, "30"),
        ({"49": "999"}, "30"),
        ({"7": "1399999999"}, "30"),
        ({"2": "4111111111111112"}, "30"),
        ({"42": None}, "30"),
        ({"18": "59A2"}, "30"),
    ],
)
def test_readable_but_invalid_is_answered(change: dict[str, str | None], code: str) -> None:
    merged = {**request_fields(), **change}
    result = rejected({k: v for k, v in merged.items() if v is not None})
    assert result.stan == "000001" and result.answer.response_code == code
    answer = decoded(encode_answer(result.echo, result.answer))
    assert answer["t"] == "0110" and answer["11"] == "000001" and answer["39"] == code
    assert VISA not in result.problem and "4111111111111112" not in result.problem


def test_undecodable_tail_with_readable_stan_is_answered_30() -> None:
    payload = encoded(request_fields()) + b"JUNK"
    result = decode_message(payload, KEY, T0)
    assert isinstance(result, Rejected) and result.answer.response_code == "30"


def test_unserved_mti_is_answered_30() -> None:
    result = rejected({**request_fields(), "t": "0300"})
    assert decoded(encode_answer(result.echo, result.answer))["t"] == "0310"


@pytest.mark.parametrize(
    "payload",
    [b"", b"garbage", b"0100", b"0100ZZZZZZZZZZZZZZZZ", b"\xff\xfe" * 20],
)
def test_unreadable_raises_the_domain_error(payload: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        decode_message(payload, KEY, T0)


def test_an_answer_sent_to_us_is_not_answered() -> None:
    with pytest.raises(MalformedMessageError):
        decode_message(encoded({**request_fields(), "t": "0110"}), KEY, T0)


@pytest.mark.parametrize("de22", ["zzz", "0 1", "-01"])
def test_a_malformed_entry_mode_is_a_format_error(de22: str) -> None:
    fields = request_fields()
    fields["22"] = de22
    result = rejected(fields)
    assert result.answer.response_code == "30" and "DE 22" in result.problem


def test_a_zero_amount_is_a_format_error() -> None:
    fields = request_fields()
    fields["4"] = "000000000000"
    result = rejected(fields)
    assert result.answer.response_code == "30" and "DE 4" in result.problem
