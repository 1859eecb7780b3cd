"""Rule sets as TOML text: read with :mod:`tomllib`, written by a small writer of our own.

The file is what analysts review and what the store keeps, one file per version, so it is plain
and stable: a description, the named lists, then one ``[[rules]]`` table per rule in evaluation
order within each action. Example::

    description = "Default rules"

    [lists]
    trusted_merchants = ["m-001", "m-002"]

    [[rules]]
    id = "very_high_score"
    rule = "decline if score > 0.97"
    description = "The risk score of this payment is very high."
    mode = "live"
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from cardwatch.rules.errors import RuleDefinitionError
from cardwatch.rules.ruleset import Rule, RuleSet

__all__ = [
    "decode_utf8",
    "default_ruleset",
    "dumps_ruleset",
    "load_ruleset",
    "loads_ruleset",
    "toml_string",
]

_RULE_KEYS = {"id", "rule", "description", "mode"}
_TOP_KEYS = {"description", "version", "lists", "rules"}


def toml_string(value: str) -> str:
    """``value`` as a TOML string: a literal string when it can be, else an escaped one.

    >>> print(toml_string('country == "US"'), toml_string("it's"))
    'country == "US"' "it's"
    """
    if "'" not in value and all(c >= " " and c != "\x7f" for c in value):
        return f"'{value}'"
    out = []
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c < " " or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    ok = name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
    return name if ok else toml_string(name)


def dumps_ruleset(ruleset: RuleSet, version: int | None = None) -> str:
    """The TOML text of ``ruleset``; ``load`` of it gives back an equal set."""
    lines: list[str] = ["# cardwatch rule set"]
    if version is not None:
        lines.append(f"version = {int(version)}")
    lines.append(f"description = {toml_string(ruleset.description)}")
    lines += ["", "[lists]"]
    for name, items in ruleset.lists.items():
        lines.append(f"{_key(name)} = [" + ", ".join(toml_string(i) for i in items) + "]")
    for rule in ruleset.rules:
        lines += [
            "",
            "[[rules]]",
            f"id = {toml_string(rule.id)}",
            f"rule = {toml_string(rule.text)}",
            f"description = {toml_string(rule.description)}",
            f"mode = {toml_string(rule.mode.value)}",
        ]
    return "\n".join(lines) + "\n"


def _rule(table: Any, n: int) -> Rule:
    if not isinstance(table, dict):
        raise RuleDefinitionError(f"rules[{n}] is not a table")
    unknown = sorted(set(table) - _RULE_KEYS)
    rule_id = table.get("id")
    if unknown:
        raise RuleDefinitionError(f"unknown key {unknown[0]!r} in rules[{n}]", rule_id)
    for key in ("id", "rule", "description"):
        if not isinstance(table.get(key), str):
            raise RuleDefinitionError(f"rules[{n}] needs a string {key!r}", rule_id)
    mode = table.get("mode", "live")
    if not isinstance(mode, str):
        raise RuleDefinitionError(f"rules[{n}]: mode is 'live' or 'shadow'", rule_id)
    return Rule.parse(table["id"], table["rule"], table["description"], mode)


def loads_ruleset(text: str) -> RuleSet:
    """Parse a rule set from TOML text (rules parsed, lists and ids checked; attributes are
    checked when the set is compiled against a known-attribute set)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleDefinitionError(f"not valid TOML: {e}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RuleDefinitionError(f"unknown top-level key {unknown[0]!r}")
    lists = data.get("lists", {})
    if not isinstance(lists, dict):
        raise RuleDefinitionError("'lists' must be a table of lists of strings")
    for name, items in lists.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise RuleDefinitionError(f"list @{name} must be a list of strings")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise RuleDefinitionError("'rules' must be an array of tables ([[rules]])")
    description = data.get("description", "")
    version = data.get("version")
    if not isinstance(description, str) or not (version is None or isinstance(version, int)):
        raise RuleDefinitionError("'description' is a string and 'version' an integer")
    return RuleSet(
        rules=tuple(_rule(t, n) for n, t in enumerate(rules)),
        lists={name: tuple(items) for name, items in lists.items()},
        description=description,
        version=version,
    )


def decode_utf8(data: bytes) -> str:
    """``data`` as text, or a :class:`RuleDefinitionError` naming the first byte that is not
    UTF-8: a file saved in Latin-1 or a binary file given by mistake must be refused with a
    message an analyst can act on, not a ``UnicodeDecodeError`` traceback.

    >>> decode_utf8("amount > 5".encode())
    'amount > 5'
    >>> decode_utf8(b"caf\\xe9")
    Traceback (most recent call last):
    ...
    cardwatch.rules.errors.RuleDefinitionError: not UTF-8 text at byte 3 (0xe9, counting from 0)
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RuleDefinitionError(
            f"not UTF-8 text at byte {e.start} (0x{data[e.start]:02x}, counting from 0)"
        ) from None


def load_ruleset(path: str | Path) -> RuleSet:
    """Read a rule set file (``OSError`` if it cannot be read, :class:`RuleDefinitionError` if
    it is not UTF-8 or not a valid rule set)."""
    return loads_ruleset(decode_utf8(Path(path).read_bytes()))


def default_ruleset() -> RuleSet:
    """The rule set shipped with cardwatch, in force while a workspace has none of its own."""
    text = resources.files("cardwatch.rules").joinpath("default.toml").read_text(encoding="utf-8")
    return loads_ruleset(text)
