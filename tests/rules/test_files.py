"""Rule sets as TOML files, the versioned store and the shipped default set."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardwatch.errors import NotFoundError
from cardwatch.rules import (
    KNOWN_ATTRIBUTES,
    Rule,
    RuleDefinitionError,
    RuleSet,
    RuleStore,
    RuleSyntaxError,
    compile_ruleset,
    default_ruleset,
    dumps_ruleset,
    load_ruleset,
    loads_ruleset,
)
from cardwatch.rules.toml_io import toml_string
from cardwatch.workspace import Workspace

SAMPLE = """
description = "test set"

[lists]
trusted = ["m1", "m\\"2"]

[[rules]]
id = "hot"
rule = 'decline if score > 0.9 and merchant_id not in @trusted'
description = "Very high risk."

[[rules]]
id = "watch"
rule = "review if :amount: > 1000"
description = "Large."
mode = "shadow"
"""


@given(st.text())
def test_toml_strings_round_trip(value: str) -> None:
    assert tomllib.loads(f"k = {toml_string(value)}")["k"] == value


def test_a_set_round_trips_through_its_file() -> None:
    rs = loads_ruleset(SAMPLE)
    assert [r.id for r in rs.rules] == ["hot", "watch"]
    assert rs.rules[1].mode == "shadow"
    assert rs.lists == {"trusted": ("m1", 'm"2')}
    again = loads_ruleset(dumps_ruleset(rs, version=7))
    assert again.rules == rs.rules and again.lists == rs.lists and again.version == 7
    assert again.description == "test set"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("rules = 3", RuleDefinitionError, "array of tables"),
        ("colour = 'red'", RuleDefinitionError, "unknown top-level key"),
        ("[lists]\nx = [1, 2]", RuleDefinitionError, "list of strings"),
        ("[[rules]]\nid = 'a'\nrule = 'review if x > 1'", RuleDefinitionError, "description"),
        (
            "[[rules]]\nid = 'a'\nrule = 'review if x > 1'\ndescription = 'd'\nwhen = 1",
            RuleDefinitionError,
            "unknown key 'when'",
        ),
        ("[[rules]]\nid = 'a'\nrule = 'review if x >'\ndescription = 'd'", RuleSyntaxError, "'a'"),
        ("this is not toml", RuleDefinitionError, "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_a_precise_message(
    text: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        loads_ruleset(text)


def test_the_default_set_checks_against_the_vocabulary_and_uses_the_score() -> None:
    rs = default_ruleset()
    compiled = compile_ruleset(rs, KNOWN_ATTRIBUTES)
    assert "score" in compiled.attributes
    assert {r.action.value for r in rs.rules} == {"allow", "challenge", "decline", "review"}
    assert all(r.description for r in rs.rules)
    base = dict.fromkeys(compiled.attributes, 0.0) | {"merchant_id": "m1"}
    assert compiled.evaluate(base).rule is None  # an ordinary payment is left alone
    hot = compiled.evaluate(base | {"score": 0.99})
    assert hot.rule is not None and hot.rule.action == "decline"
    online = compiled.evaluate(base | {"score": 0.9, "card_not_present": 1.0})
    assert online.rule is not None and online.rule.action == "challenge"
    skimmed = base | {"score": 0.4, "exposed": 1.0, "magstripe_on_chip": 1.0}
    assert compiled.evaluate(skimmed).rule.id == "exposed_counterfeit"  # type: ignore[union-attr]


def test_the_default_set_never_fires_on_missing_features() -> None:
    compiled = compile_ruleset(default_ruleset(), KNOWN_ATTRIBUTES)
    nothing = dict.fromkeys(compiled.attributes)
    assert compiled.evaluate(nothing).rule is None
    cols = {a: np.full(3, np.nan) for a in compiled.attributes}
    assert (compiled.evaluate_columns(cols).deciding == -1).all()


def test_store_starts_with_the_default_and_saves_new_versions(workspace: Workspace) -> None:
    store = RuleStore(workspace)
    assert store.versions() == [] and store.current_version() is None
    assert store.current().rules == default_ruleset().rules
    first = loads_ruleset(SAMPLE)
    assert store.save(first) == 1
    second = RuleSet(first.rules[:1], first.lists, "smaller")
    assert store.save(second) == 2
    assert store.versions() == [1, 2]
    assert store.current().version == 2 and store.current().rules == second.rules
    assert store.get(1).rules == first.rules
    assert (workspace.rules_dir / "v0001.toml").exists()


def test_saving_never_overwrites(workspace: Workspace) -> None:
    store = RuleStore(workspace)
    (workspace.rules_dir / "v0003.toml").write_text(dumps_ruleset(loads_ruleset(SAMPLE)))
    before = (workspace.rules_dir / "v0003.toml").read_text()
    assert store.save(loads_ruleset(SAMPLE)) == 4
    assert (workspace.rules_dir / "v0003.toml").read_text() == before


def test_a_pointer_pins_an_older_version(workspace: Workspace) -> None:
    store = RuleStore(workspace)
    store.save(loads_ruleset(SAMPLE))
    store.save(RuleSet((), {}, "empty"), allow_empty=True)
    store.pin(1)
    assert store.current_version() == 1 and len(store.current().rules) == 2
    store.save(RuleSet((), {}, "newer"), allow_empty=True)
    assert store.current_version() == 1  # still pinned
    store.pin(None)
    assert store.current_version() == 3
    with pytest.raises(NotFoundError):
        store.pin(9)
    with pytest.raises(NotFoundError):
        store.get(9)


def test_the_store_refuses_a_set_with_an_unknown_attribute(workspace: Workspace) -> None:
    store = RuleStore(workspace)
    typo = RuleSet((Rule.parse("t", "decline if scroe > 0.9", "Typo."),))
    with pytest.raises(RuleDefinitionError, match="scroe"):
        store.save(typo)
    assert store.versions() == []


def test_load_ruleset_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SAMPLE)
    assert load_ruleset(path) == loads_ruleset(SAMPLE)


def test_the_store_refuses_a_set_that_would_decide_nothing(workspace: Workspace) -> None:
    """Saving puts the set in force: an empty (or all-shadow) set would silently stop every
    rule, so it takes an explicit ``allow_empty``."""
    store = RuleStore(workspace)
    with pytest.raises(RuleDefinitionError, match="no rules"):
        store.save(RuleSet((), {}, "empty"))
    shadow = RuleSet((Rule.parse("s", "review if score > 0.9", "Watch.", "shadow"),))
    with pytest.raises(RuleDefinitionError, match="shadow"):
        store.save(shadow)
    assert store.versions() == []
    assert store.save(shadow, allow_empty=True) == 1


def test_a_file_that_is_not_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(RuleDefinitionError, match="not UTF-8 text at byte 18"):
        load_ruleset(path)


def test_a_stored_version_that_is_not_utf8_names_its_file(workspace: Workspace) -> None:
    store = RuleStore(workspace)
    workspace.rules_dir.mkdir(parents=True, exist_ok=True)
    (workspace.rules_dir / "v0001.toml").write_bytes(b"\xff")
    with pytest.raises(RuleDefinitionError, match=r"v0001\.toml: not UTF-8 text at byte 0"):
        store.current()


def _documented_rules() -> list[str]:
    """Every rule written in docs/rules.md: in code blocks, in ``rule = '...'`` lines and in
    the tables (between backticks)."""
    text = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    action = r"(?:allow|challenge|decline|review|block|request_3ds) if "
    found = re.findall(rf"^({action}.+)$", text, re.MULTILINE)
    found += re.findall(rf"^rule = '({action}[^']+)'$", text, re.MULTILINE)
    found += re.findall(rf"`({action}[^`]+)`", text)
    return sorted(set(found))


def test_every_rule_in_the_docs_and_the_default_set_passes_the_checker() -> None:
    """The checker refuses bare values as conditions and mixed types; what the docs show and
    what ships must still pass it."""
    documented = _documented_rules()
    assert len(documented) >= 10
    rules = tuple(Rule.parse(f"d{i}", text, "doc") for i, text in enumerate(documented))
    cut_offs = {"challenge_at": "number", "decline_at": "number"}  # the model's, in the docs
    known = {**KNOWN_ATTRIBUTES, **cut_offs}
    compile_ruleset(RuleSet(rules, {"trusted_merchants": ("m1",)}), known)
    compile_ruleset(default_ruleset(), KNOWN_ATTRIBUTES)
