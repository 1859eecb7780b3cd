"""The plain case of the ``default_ascii`` layout, encoded and decoded without pyiso8583's
general machinery.

pyiso8583 reads any specification (binary, EBCDIC, tertiary bitmaps, headers) and checks every
step; for the contract's all-ASCII layout that generality cost more per authorisation (decode
and encode together) than the decision itself. These two functions handle the messages a
network sends every second — ASCII throughout, uppercase hex bitmaps, fields 2–128, lengths
within the specification — and give up (``None``) on anything else, which the codec then hands
to pyiso8583, so that every unusual message is decoded, rejected or refused exactly as before.
A test compares both on generated and mutated messages: where the fast path answers, it answers
what pyiso8583 does.
"""

from __future__ import annotations

from collections.abc import Mapping

import iso8583.specs

__all__ = ["fast_decode", "fast_encode"]

_SPEC = iso8583.specs.default_ascii
_HEX = frozenset("0123456789ABCDEF")
#: Field number → (length digits, 0 for fixed; maximum or fixed length), for fields 2–128.
_FIELDS: dict[int, tuple[int, int]] = {}
for _n in range(2, 129):
    _f = _SPEC.get(str(_n))
    if _f is not None and _n != 65 and _f["data_enc"] == "ascii" and _f["len_enc"] == "ascii":
        _FIELDS[_n] = (int(_f["len_type"]), int(_f["max_len"]))


def _plain_spec() -> bool:
    return all(_SPEC[k]["data_enc"] == "ascii" for k in ("t", "p", "1")) and (
        _SPEC["p"]["max_len"] == _SPEC["1"]["max_len"] == 16 and _SPEC["t"]["max_len"] == 4
    )


_PLAIN = _plain_spec()


def fast_encode(doc: Mapping[str, str]) -> bytes | None:
    """``iso8583.encode(doc, default_ascii)``'s bytes for a plain message, else None.

    >>> fast_encode({"t": "0210", "3": "111111", "39": "05"})
    b'0210200000000200000011111105'
    """
    if not _PLAIN:
        return None
    mti = doc.get("t")
    if mti is None or len(mti) != 4 or not mti.isascii():
        return None
    numbers = []
    for key in doc:
        if key == "t":
            continue
        if not key.isdigit() or key[0] == "0":
            return None
        n = int(key)
        if n not in _FIELDS:
            return None
        numbers.append(n)
    numbers.sort()
    primary = secondary = 0
    for n in numbers:
        if n <= 64:
            primary |= 1 << (64 - n)
        else:
            secondary |= 1 << (128 - n)
    if secondary:
        primary |= 1 << 63
    parts = [mti, f"{primary:016X}"]
    if secondary:
        parts.append(f"{secondary:016X}")
    for n in numbers:
        value = doc[str(n)]
        if not isinstance(value, str) or not value.isascii():
            return None
        digits, size = _FIELDS[n]
        if digits == 0:
            if len(value) != size:
                return None
        else:
            if len(value) > size:
                return None
            parts.append(str(len(value)).zfill(digits))
        parts.append(value)
    return "".join(parts).encode("ascii")


def fast_decode(data: bytes) -> dict[str, str] | None:
    """``iso8583.decode(data, default_ascii)[0]`` for a plain message, else None.

    >>> fast_decode(b"02004010100000000000161234567890123456123456111")
    {'t': '0200', 'p': '4010100000000000', '2': '1234567890123456', '12': '123456', '20': '111'}
    """
    if not _PLAIN or not data.isascii():
        return None
    text = data.decode("ascii")
    if len(text) < 20:
        return None
    mti, primary = text[:4], text[4:20]
    if not _HEX.issuperset(primary):
        return None
    doc = {"t": mti, "p": primary}
    bits = int(primary, 16)
    at = 20
    if bits >> 63:
        secondary = text[20:36]
        if len(secondary) != 16 or not _HEX.issuperset(secondary):
            return None
        doc["1"] = secondary
        bits = (bits << 64) | int(secondary, 16)
        at = 36
        last = 128
    else:
        bits <<= 64
        last = 64
    for n in range(2, last + 1):
        if not (bits >> (128 - n)) & 1:
            continue
        spec = _FIELDS.get(n)
        if spec is None:
            return None
        digits, size = spec
        if digits:
            length_text = text[at : at + digits]
            if len(length_text) != digits or not length_text.isdigit():
                return None
            length = int(length_text)
            if length > size:
                return None
            at += digits
        else:
            length = size
        value = text[at : at + length]
        if len(value) != length:
            return None
        doc[str(n)] = value
        at += length
    if at != len(text):
        return None
    return doc
