"""Build request messages the way an acquirer would (pure: times and numbers are arguments).

Used by the client (tests, demo, benchmark) to turn a contract transaction plus a PAN into the
fields of a 0100/0200, its reversal, or a network management message. The output is a field
dict for ``iso8583.encode`` with ``iso8583.specs.default_ascii``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cardwatch.schema import Transaction
from cardwatch.server.iso.codes import COUNTRY_ALPHA2, currency_by_alpha
from cardwatch.server.iso.fields import ENTRY_MODE_CODES, amount_to_minor, format_transmission_time

__all__ = [
    "PAYMENT_COLUMNS",
    "authorisation_fields",
    "network_fields",
    "payment_of",
    "reversal_fields",
]

#: The contract's columns that describe a payment as an acquirer presents it: not the id (the
#: host derives it from the retry key), the card (its PAN travels in DE 2) nor any label.
PAYMENT_COLUMNS = (
    "timestamp",
    "amount",
    "currency",
    "merchant_id",
    "merchant_name",
    "merchant_country",
    "mcc",
    "terminal_id",
    "entry_mode",
    "channel",
    "merchant_lat",
    "merchant_lon",
)


def payment_of(txn: Mapping[str, Any] | Transaction) -> dict[str, Any]:
    """The payment a contract row (or a :class:`Transaction`) describes: its
    :data:`PAYMENT_COLUMNS` that are set. What the demo and the benchmark send, over ISO 8583
    (:func:`authorisation_fields`) or as the HTTP API's JSON.

    >>> payment_of({"txn_id": "t1", "card_id": "c1", "amount": 9.5, "merchant_id": "M1",
    ...             "mcc": None, "is_fraud": 1})
    {'amount': 9.5, 'merchant_id': 'M1'}
    """
    get = txn.get if isinstance(txn, Mapping) else lambda name: getattr(txn, name, None)
    return {k: v for k in PAYMENT_COLUMNS if (v := get(k)) is not None}


def authorisation_fields(
    txn: Mapping[str, Any] | Transaction,
    pan: str,
    *,
    stan: str,
    rrn: str,
    mti: str = "0100",
    processing_code: str = "000000",
    transmitted_at: datetime | None = None,
    response_code: str | None = None,
) -> dict[str, str]:
    """The fields of an authorisation (0100) or financial (0200) request for ``txn``, or of the
    advice (0120 / 0220) of a decision the network took in stand-in (``response_code``, DE 39).

    ``txn`` is a contract transaction, as a :class:`Transaction` or a mapping (``amount`` in
    major units, ``currency``, ``merchant_id`` and the optional columns); DE 7 is
    ``transmitted_at``, else its timestamp.

    >>> f = authorisation_fields(
    ...     {"amount": 12.5, "currency": "EUR", "merchant_id": "M1", "entry_mode": "chip",
    ...      "timestamp": "2024-03-05T14:07:09Z"},
    ...     "4111111111111111", stan="000001", rrn="000000000001")
    >>> f["4"], f["7"], f["22"], f["49"], f["42"]
    ('000000001250', '0305140709', '051', '978', 'M1             ')
    """
    txn = payment_of(txn)
    currency = currency_by_alpha(str(txn.get("currency") or "EUR"))
    if currency is None:
        raise ValueError(f"currency {txn.get('currency')!r} has no ISO 4217 numeric code here")
    when = transmitted_at or _as_datetime(txn.get("timestamp"))
    fields = {
        "t": mti,
        "2": pan,
        "3": processing_code,
        "4": f"{amount_to_minor(txn['amount'], currency.exponent):012d}",
        "7": format_transmission_time(when),
        "11": stan,
        "37": rrn.rjust(12, "0"),
        "42": _fixed(str(txn["merchant_id"]), 15, "merchant_id"),
        "49": currency.numeric,
    }
    if txn.get("mcc"):
        fields["18"] = str(txn["mcc"]).zfill(4)
    country = str(txn.get("merchant_country") or "").upper()
    if country in COUNTRY_ALPHA2:
        fields["19"] = COUNTRY_ALPHA2[country]
    if txn.get("entry_mode") in ENTRY_MODE_CODES:
        fields["22"] = ENTRY_MODE_CODES[str(txn["entry_mode"])]
    if txn.get("terminal_id"):
        fields["41"] = _fixed(str(txn["terminal_id"]), 8, "terminal_id")
    if txn.get("merchant_name") or country:
        name = _ascii(str(txn.get("merchant_name") or ""))[:25].ljust(25)
        fields["43"] = name + " " * 13 + (country if len(country) == 2 else "  ")
    if response_code is not None:
        fields["39"] = response_code
    return fields


def _ascii(text: str) -> str:
    """DE 43 is plain ASCII: accents folded (``Élise`` → ``Elise``), anything else dropped.

    >>> _ascii("Boulangerie Élise ★")
    'Boulangerie Elise '
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded if ch.isprintable())


def reversal_fields(
    original: Mapping[str, str],
    *,
    stan: str,
    transmitted_at: datetime,
    mti: str = "0400",
    with_original_data: bool = True,
) -> dict[str, str]:
    """A reversal of ``original`` (the request's fields, as sent).

    With ``with_original_data`` it carries a new STAN and DE 90 (original MTI, STAN, DE 7,
    acquirer); without, it reuses the original's STAN, as some acquirers do.

    >>> orig = {"t": "0100", "2": "4111111111111111", "4": "000000001000", "7": "0305140709",
    ...         "11": "000001", "37": "000000000001", "42": "M1".ljust(15), "49": "978"}
    >>> rev = reversal_fields(orig, stan="000002", transmitted_at=datetime(2024, 3, 5, 14, 8))
    >>> rev["t"], rev["11"], rev["90"][:20]
    ('0400', '000002', '01000000010305140709')
    """
    kept = ("2", "3", "4", "18", "19", "22", "37", "41", "42", "43", "49")
    fields = {k: original[k] for k in kept if k in original}
    fields["t"] = mti
    fields["7"] = format_transmission_time(transmitted_at)
    if with_original_data:
        fields["11"] = stan
        acquirer = original.get("32", "").zfill(11)
        fields["90"] = original["t"] + original["11"] + original["7"] + acquirer + "0" * 11
    else:
        fields["11"] = original["11"]
    return fields


def network_fields(function: str, *, stan: str, transmitted_at: datetime) -> dict[str, str]:
    """A network management request (0800): ``001`` sign-on, ``002`` sign-off, ``301`` echo.

    >>> network_fields("301", stan="000009", transmitted_at=datetime(2024, 3, 5, 14, 8))["70"]
    '301'
    """
    return {
        "t": "0800",
        "7": format_transmission_time(transmitted_at),
        "11": stan,
        "70": function,
    }


def _fixed(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise ValueError(f"{name} {value!r} is longer than the {width} characters ISO 8583 allows")
    return value.ljust(width)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        return _as_datetime(value.to_pydatetime())
    raise ValueError("the transaction needs a timestamp, or pass transmitted_at")
