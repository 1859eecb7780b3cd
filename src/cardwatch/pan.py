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
    "contains_pan",
    "is_pan",
    "luhn_valid",
    "mask",
    "mask_pans_in",
    "pan_digits",
    "safe_text",
    "tokenise",
]

TOKEN_PREFIX = "tok_"
_DIGITS = re.compile(r"^\d{12,19}$")
# 12-19 digits, optionally split by single spaces or dashes: how people write card numbers.
_PAN_SHAPE = r"(?:\d[ -]?){11,18}\d"
_PAN_WHOLE = re.compile(_PAN_SHAPE)
# The same shape as it appears inside free text.
_PAN_IN_TEXT = re.compile(rf"(?<!\d){_PAN_SHAPE}(?!\d)")
_SEPARATORS = re.compile(r"[ -]")


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


def pan_digits(value: str) -> str | None:
    """The digits of a value written as a card number (12-19 digits, grouped or not by single
    spaces or dashes), else None; Luhn is not checked, because a mistyped PAN is still a PAN.

    One rule for "this is card-number shaped", so that ``4111 1111 1111 1111`` is never taken for
    an opaque id and stored in clear while ``4111111111111111`` is tokenised.

    >>> pan_digits("4111 1111 1111 1111"), pan_digits("5555-5555-5555-4444"), pan_digits("c-12")
    ('4111111111111111', '5555555555554444', None)
    """
    if not _PAN_WHOLE.fullmatch(value):
        return None
    return _SEPARATORS.sub("", value)


def contains_pan(text: str) -> bool:
    """True when ``text`` is, or holds, a Luhn-valid PAN of 13-19 digits (bare or grouped by
    spaces or dashes).

    For the free-text columns that go to storage (ids, names): they must refuse a card number,
    which would otherwise sit there in clear. Refusing is costlier than masking, so the shortest
    shape is left out: a 12-digit retrieval reference number (DE 37), a common transaction id,
    passes Luhn one time in ten, and card numbers that short are rare (the major networks issue
    13 to 19 digits).

    >>> contains_pan("5555 5555 5555 4444"), contains_pan("cust-4111111111111111")
    (True, True)
    >>> contains_pan("cust-4111111111111112"), contains_pan("order 20260301")
    (False, False)
    >>> contains_pan("123456789015")  # 12 digits, Luhn-valid: an RRN, not refused
    False
    """
    return any(len(d := _SEPARATORS.sub("", m.group(0))) >= 13 and luhn_valid(d)
               for m in _PAN_IN_TEXT.finditer(text))  # fmt: skip


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

    A PAN written with spaces or dashes gets the token of its bare digits: the same card must be
    one card, and its number must not slip into storage because of how it was typed.

    >>> card_key("card_7", b"k")
    'card_7'
    >>> card_key("4111 1111 1111 1111", b"k") == card_key("4111111111111111", b"k")
    True
    """
    digits = pan_digits(card_id)
    return tokenise(digits, key) if digits is not None and luhn_valid(digits) else card_id


def mask_pans_in(text: str) -> str:
    """Mask every Luhn-valid PAN inside free text: the last line of defence for logs.

    >>> mask_pans_in("pan=4111111111111111 ok")
    'pan=411111******1111 ok'
    """

    def _sub(m: re.Match[str]) -> str:
        digits = _SEPARATORS.sub("", m.group(0))
        return mask(digits) if luhn_valid(digits) else m.group(0)

    return _PAN_IN_TEXT.sub(_sub, text)


def safe_text(value: object) -> str:
    """Any value made safe to show: a card-number-shaped value masked even when it fails Luhn
    (a mistyped PAN is still a PAN), PANs inside text masked.

    >>> safe_text("4111111111111112"), safe_text("4111 1111 1111 1112")
    ('411111******1112', '411111******1112')
    >>> safe_text(None), safe_text(12.5)
    ('', '12.5')
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    digits = pan_digits(text.strip())
    if digits is not None:
        return mask(digits)
    return mask_pans_in(text)
