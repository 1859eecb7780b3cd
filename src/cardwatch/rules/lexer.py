"""Split the text of a rule into tokens.

Hand-written because the language is small and its error messages matter more than its size: a
fraud analyst typing a rule must be told exactly which character is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardwatch.rules.errors import RuleSyntaxError

__all__ = ["KEYWORDS", "Token", "tokenize"]

KEYWORDS = frozenset({"and", "or", "not", "in", "if", "true", "false"})

_TWO_CHAR = {"==", "!=", "<=", ">="}
_ONE_CHAR = set("<>+-*/()[],")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True, slots=True)
class Token:
    """``kind`` is ``num``, ``str``, ``name``, ``list`` (an ``@name``), ``kw``, ``op`` or
    ``end``; ``value`` is the parsed value (the float, the unescaped string, the name…)."""

    kind: str
    value: str | float
    position: int


def _is_name_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _name_end(text: str, i: int) -> int:
    while i < len(text) and _is_name_char(text[i]):
        i += 1
    return i


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _ESCAPES:
                raise RuleSyntaxError("unknown escape in string", text, i)
            out.append(_ESCAPES[text[i + 1]])
            i += 2
            continue
        if c in "\n\r":
            break
        out.append(c)
        i += 1
    raise RuleSyntaxError("string not closed", text, start)


def _number(text: str, start: int) -> tuple[float, int]:
    i = start
    while i < len(text) and (text[i].isdigit() or text[i] in "._"):
        i += 1
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if j < len(text) and text[j].isdigit():
            i = j
            while i < len(text) and text[i].isdigit():
                i += 1
    raw = text[start:i]
    try:
        value = float(raw)
    except ValueError:
        raise RuleSyntaxError(f"bad number {raw!r}", text, start) from None
    if value in (float("inf"), float("-inf")):
        raise RuleSyntaxError(f"number {raw!r} is too large", text, start)
    if i < len(text) and _is_name_char(text[i]):
        raise RuleSyntaxError("a name cannot start with a digit", text, start)
    return value, i


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token.

    Radar's colon form ``:amount:`` is read as the attribute ``amount``.

    >>> [(t.kind, t.value) for t in tokenize(':amount: >= 5e2')]
    [('name', 'amount'), ('op', '>='), ('num', 500.0), ('end', '')]
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text[i : i + 2] in _TWO_CHAR:
            tokens.append(Token("op", text[i : i + 2], i))
            i += 2
        elif c in _ONE_CHAR:
            tokens.append(Token("op", c, i))
            i += 1
        elif c == "=":
            raise RuleSyntaxError("use '==' to compare", text, i)
        elif c.isdigit() or (c == "." and text[i + 1 : i + 2].isdigit()):
            value, end = _number(text, i)
            tokens.append(Token("num", value, i))
            i = end
        elif c in "\"'":
            s, end = _string(text, i)
            tokens.append(Token("str", s, i))
            i = end
        elif _is_name_start(c):
            end = _name_end(text, i)
            word = text[i:end]
            tokens.append(Token("kw" if word in KEYWORDS else "name", word, i))
            i = end
        elif c == "@":
            end = _name_end(text, i + 1)
            if end == i + 1 or not _is_name_start(text[i + 1]):
                raise RuleSyntaxError("expected a list name after '@'", text, i)
            tokens.append(Token("list", text[i + 1 : end], i))
            i = end
        elif c == ":":
            end = _name_end(text, i + 1)
            if end == i + 1 or not _is_name_start(text[i + 1]) or text[end : end + 1] != ":":
                raise RuleSyntaxError("expected ':name:'", text, i)
            tokens.append(Token("name", text[i + 1 : end], i))
            i = end + 1
        else:
            raise RuleSyntaxError(f"unexpected character {c!r}", text, i)
    tokens.append(Token("end", "", len(text)))
    return tokens
