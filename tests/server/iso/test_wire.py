"""The fast ``default_ascii`` codec agrees with pyiso8583 wherever it answers: on generated
messages, on mutated ones, and on invalid field values (where it must give up, not guess)."""

from __future__ import annotations

import iso8583
from hypothesis import given, settings
from hypothesis import strategies as st

from cardwatch.server.iso.codec import SPEC
from cardwatch.server.iso.wire import fast_decode, fast_encode

_NUMBERS = [n for n in range(2, 129) if n != 65]
_ASCII = st.characters(min_codepoint=32, max_codepoint=126)


@st.composite
def _docs(draw: st.DrawFn) -> dict[str, str]:
    doc = {"t": draw(st.sampled_from(["0100", "0110", "0200", "0210", "0400", "0810"]))}
    for n in draw(st.lists(st.sampled_from(_NUMBERS), max_size=12, unique=True)):
        spec = SPEC[str(n)]
        size = spec["max_len"]
        if spec["len_type"] == 0:
            length = draw(st.sampled_from([size, size, size, max(size - 1, 0), size + 1]))
        else:
            length = draw(st.integers(0, size + 1))
        doc[str(n)] = draw(st.text(_ASCII, min_size=length, max_size=length))
    if draw(st.booleans()):
        doc[str(draw(st.sampled_from(_NUMBERS)))] = draw(st.text(max_size=5))  # maybe not ASCII
    return doc


def _pyiso_encode(doc: dict[str, str]) -> bytes | None:
    try:
        return bytes(iso8583.encode(dict(doc), SPEC)[0])
    except Exception:
        return None


def _pyiso_decode(data: bytes) -> dict[str, str] | None:
    try:
        return iso8583.decode(data, SPEC)[0]
    except Exception:
        return None


@settings(max_examples=400, deadline=None)
@given(_docs(), st.data())
def test_fast_paths_agree_with_pyiso8583(doc: dict[str, str], data: st.DataObject) -> None:
    expected = _pyiso_encode(doc)
    fast = fast_encode(doc)
    if fast is not None:
        assert fast == expected
    if expected is None:
        return
    assert fast_decode(expected) == _pyiso_decode(expected)
    # Mutations: cut short, a byte changed, lowercase hex — the fast path answers the same
    # or gives up.
    cut = data.draw(st.integers(0, len(expected)))
    at = data.draw(st.integers(0, len(expected) - 1))
    byte = data.draw(st.integers(0, 255))
    for mutated in (
        expected[:cut],
        expected[:at] + bytes([byte]) + expected[at + 1 :],
        expected[:4] + expected[4:36].lower() + expected[36:],
        expected + b"0",
    ):
        got = fast_decode(mutated)
        if got is not None:
            assert got == _pyiso_decode(mutated)
