"""What single ISO 8583 data elements mean, as pure functions over their text.

Each function reads one field (or writes it, for the acquirer side) so that the codec stays a
list of "which field goes where" and each interpretation is tested on its own.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

__all__ = [
    "ENTRY_MODE_CODES",
    "amount_from_minor",
    "amount_to_minor",
    "approval_code",
    "entry_mode_and_channel",
    "format_transmission_time",
    "response_mti",
    "split_name_location",
    "transmission_time",
]

# DE 22 positions 1-2 (PAN entry mode) → the contract's entry_mode and channel.
_ENTRY_MODES: dict[str, tuple[str, str]] = {
    "05": ("chip", "card_present"),
    "07": ("contactless", "card_present"),
    "90": ("magstripe", "card_present"),
    "02": ("magstripe", "card_present"),
    "80": ("fallback", "card_present"),
    "01": ("manual", "moto"),
    "81": ("ecommerce", "ecommerce"),
    "10": ("credential_on_file", "ecommerce"),
}
#: entry_mode → the DE 22 value an acquirer sends for it (third digit 1: PIN entry capability).
ENTRY_MODE_CODES: dict[str, str] = {
    "chip": "051",
    "contactless": "071",
    "magstripe": "901",
    "fallback": "801",
    "manual": "012",
    "ecommerce": "812",
    "credential_on_file": "102",
}
_ATM_MCC = "6011"
_APPROVAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def entry_mode_and_channel(
    de22: str | None, mcc: str | None = None
) -> tuple[str | None, str | None]:
    """The contract's ``entry_mode`` and ``channel`` for a DE 22 value; unknown codes give None.

    A card-present transaction at MCC 6011 is a cash machine, whatever the entry mode.

    >>> entry_mode_and_channel("051")
    ('chip', 'card_present')
    >>> entry_mode_and_channel("901", mcc="6011")
    ('magstripe', 'atm')
    >>> entry_mode_and_channel("812")
    ('ecommerce', 'ecommerce')
    >>> entry_mode_and_channel("999")
    (None, None)
    """
    if not de22:
        return None, None
    entry, channel = _ENTRY_MODES.get(de22[:2], (None, None))
    if channel == "card_present" and mcc == _ATM_MCC:
        channel = "atm"
    return entry, channel


def transmission_time(de7: str, reference: datetime) -> datetime:
    """DE 7 (``MMDDhhmmss``, GMT) as an aware datetime, its year taken from ``reference``.

    DE 7 has no year: the one chosen puts the moment nearest to ``reference`` (so a message sent
    at 23:59:59 on 31 December and read just after midnight keeps last year). Raises ValueError
    when the text is not a valid date and time in any neighbouring year.

    >>> ref = datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)
    >>> transmission_time("1231235959", ref).isoformat()
    '2023-12-31T23:59:59+00:00'
    >>> transmission_time("0229120000", ref).year
    2024
    """
    if len(de7) != 10 or not de7.isdigit():
        raise ValueError("DE 7 must be 10 digits MMDDhhmmss")
    month, day, hour, minute, second = (int(de7[i : i + 2]) for i in range(0, 10, 2))
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    best: datetime | None = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            continue
        if best is None or abs(candidate - reference) < abs(best - reference):
            best = candidate
    if best is None:
        raise ValueError("DE 7 is not a valid date and time")
    return best


def format_transmission_time(when: datetime) -> str:
    """DE 7 text for a moment (converted to GMT; a naive datetime is taken as UTC).

    >>> format_transmission_time(datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC))
    '0305140709'
    """
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%m%d%H%M%S")


def amount_from_minor(minor: int, exponent: int) -> float:
    """Major units from DE 4's minor units, given the currency's exponent.

    >>> amount_from_minor(12345, 2), amount_from_minor(500, 0), amount_from_minor(1500, 3)
    (123.45, 500.0, 1.5)
    """
    return float(Decimal(minor).scaleb(-exponent))


def amount_to_minor(amount: float | str | Decimal, exponent: int) -> int:
    """DE 4's minor units for an amount in major units; refuses fractions of a minor unit.

    >>> amount_to_minor(123.45, 2), amount_to_minor("7", 0)
    (12345, 7)
    """
    scaled = Decimal(str(amount)).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {amount} has more than {exponent} decimals")
    return int(scaled)


def split_name_location(de43: str | None) -> tuple[str | None, str | None, str | None]:
    """DE 43 (25 name, 13 city, 2 country) as (name, city, alpha-2 country); blanks are None.

    >>> split_name_location("CAFE DU COIN".ljust(25) + "PARIS".ljust(13) + "FR")
    ('CAFE DU COIN', 'PARIS', 'FR')
    >>> split_name_location("SHOP".ljust(40))
    ('SHOP', None, None)
    """
    if not de43:
        return None, None, None
    name = de43[:25].strip() or None
    city = de43[25:38].strip() or None
    country = de43[38:40].strip().upper()
    return name, city, (country if len(country) == 2 and country.isalpha() else None)


def approval_code(seed: str) -> str:
    """A six-character approval code (DE 38) derived from ``seed``, so a retry gets the same one.

    >>> approval_code("iso_abc") == approval_code("iso_abc"), len(approval_code("x"))
    (True, 6)
    """
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    chars = []
    for _ in range(6):
        value, digit = divmod(value, len(_APPROVAL_ALPHABET))
        chars.append(_APPROVAL_ALPHABET[digit])
    return "".join(chars)


def response_mti(mti: str) -> str:
    """The answer's MTI for a request MTI: function digit 0 → 1, 2 → 3; repeats answered alike.

    >>> response_mti("0100"), response_mti("0421"), response_mti("0800")
    ('0110', '0430', '0810')
    """
    if len(mti) != 4 or not mti.isdigit() or mti[2] not in "02":
        raise ValueError("not a request MTI")
    return mti[:2] + str(int(mti[2]) + 1) + "0"
