"""Primary account numbers: recognise, check, mask and tokenise them.

A PAN is toxic (PCI DSS 3.4-3.5): it is turned into a keyed token at the edge and only ever shown
masked. The token is an HMAC-SHA256 under the workspace's key (PCI DSS 3.5.1.1 wants keyed hashes,
so that a stolen history cannot be reversed by hashing every possible card number).
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = [
    "TOKEN_PREFIX",
    "card_key",
    "is_pan",
    "luhn_valid",
    "mask",
    "mask_pans_in",
    "safe_text",
    "tokenise",
]

TOKEN_PREFIX = "tok_"
_DIGITS = re.compile(r"^\d{12,19}$")
# Runs of 12-19 digits, optionally split by single spaces or dashes, as they appear in free text.
_PAN_IN_TEXT = re.compile(r"(?<!\d)(?:\d[ -]?){11,18}\d(?!\d)")


def luhn_valid(number: str) -> bool:
    """True when ``number`` is all digits and passes the Luhn check.

    >>> luhn_valid("4111111111111111")
    True
    >>> luhn_valid("4111111111111112")
    False
    """
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_pan(value: str) -> bool:
    """True for 12 to 19 digits passing Luhn: what must never be stored in clear.

    >>> is_pan("5555555555554444"), is_pan("card_000042")
    (True, False)
    """
    return bool(_DIGITS.match(value)) and luhn_valid(value)


def mask(pan: str) -> str:
    """First six and last four, the most PCI DSS 3.4.1 allows on display.

    >>> mask("4111111111111111")
    '411111******1111'
    """
    if len(pan) < 13:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def tokenise(pan: str, key: bytes) -> str:
    """A stable keyed token for a PAN: the same card gives the same token under the same key.

    >>> tokenise("4111111111111111", b"k") == tokenise("4111111111111111", b"k")
    True
    >>> tokenise("4111111111111111", b"k").startswith("tok_")
    True
    """
    digest = hmac.new(key, pan.encode("ascii"), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + digest[:32]


def card_key(card_id: str, key: bytes) -> str:
    """The identifier cardwatch keeps for a card: a token for a PAN, an opaque id unchanged.

    >>> card_key("card_7", b"k")
    'card_7'
    """
    return tokenise(card_id, key) if is_pan(card_id) else card_id


def mask_pans_in(text: str) -> str:
    """Mask every Luhn-valid PAN inside free text: the last line of defence for logs.

    >>> mask_pans_in("pan=4111111111111111 ok")
    'pan=411111******1111 ok'
    """

    def _sub(m: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        return mask(digits) if luhn_valid(digits) else m.group(0)

    return _PAN_IN_TEXT.sub(_sub, text)


def safe_text(value: object) -> str:
    """Any value made safe to show: card-length digit runs masked even when they fail Luhn
    (a mistyped PAN is still a PAN), PANs inside text masked.

    >>> safe_text("4111111111111112"), safe_text(None), safe_text(12.5)
    ('411111******1112', '', '12.5')
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    if text.isdigit() and 12 <= len(text) <= 19:
        return mask(text)
    return mask_pans_in(text)
