"""The rule language on examples: what parses, what is refused, and what a rule means."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cardwatch.rules import (
    KNOWN_ATTRIBUTES,
    Rule,
    RuleDefinitionError,
    RuleEvaluationError,
    RuleSet,
    RuleSyntaxError,
    compile_ruleset,
    parse_expression,
    parse_rule,
)
from cardwatch.rules.nodes import Attr, Compare, In, ListLiteral, ListRef, Num
from cardwatch.rules.scalar import compile_condition

BRIEF_RULES = [
    'decline if score > 0.9 and entry_mode == "magstripe" and merchant_country != home_country',
    'challenge if channel == "ecommerce" and amount > 5 * card_amount_mean_30d',
    "allow if merchant_id in @trusted_merchants",
    "review if merchant_fraud_rate > 0.05",
]


@pytest.mark.parametrize("text", BRIEF_RULES)
def test_the_rules_of_the_brief_parse_and_check_against_the_vocabulary(text: str) -> None:
    rule = Rule.parse("r", text, "why")
    RuleSet((rule,), {"trusted_merchants": ("m1",)}).check(KNOWN_ATTRIBUTES)
    assert parse_rule(rule.text) == parse_rule(text)


def test_radar_colon_form_is_an_alias_for_the_attribute() -> None:
    assert parse_expression(":amount: > 500") == parse_expression("amount > 500")


def test_in_takes_list_literals_and_named_lists() -> None:
    assert parse_expression('c in ["US", "GB", 3,]') == In(
        Attr("c"), ListLiteral(("US", "GB", 3.0))
    )
    assert parse_expression("c not in @risky") == In(Attr("c"), ListRef("risky"), negated=True)


def test_precedence_is_arithmetic_then_comparison_then_not_and_or() -> None:
    tree = parse_expression("a > 1 + 2 * 3 or not b == 1 and c")
    assert tree.op == "or"  # type: ignore[union-attr]
    assert tree.left == Compare(">", Attr("a"), parse_expression("1 + (2 * 3)"))  # type: ignore[union-attr]
    assert parse_expression("2 - 3 - 4") == parse_expression("(2 - 3) - 4")
    assert parse_expression("x == -1") == parse_expression("x == -(1)")
    assert parse_expression("n > 1e3") == Compare(">", Attr("n"), Num(1000.0))


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("a < b < c", 7),
        ("a = 1", 3),
        ("a in b", 6),
        ('x == "open', 6),
        ("x and", 6),
        ("(a > 1", 7),
        ("a > 1 b", 7),
        ("@l == 1", 1),
        ("x == 1e999", 6),
        ("x $ 1", 3),
        ("x == 'a\\q'", 8),
    ],
)
def test_syntax_errors_point_at_the_offending_column(text: str, column: int) -> None:
    with pytest.raises(RuleSyntaxError) as e:
        parse_expression(text)
    assert e.value.position + 1 == column
    assert f"column {column}" in str(e.value)


def test_a_rule_starts_with_a_known_action_and_if() -> None:
    with pytest.raises(RuleSyntaxError):
        Rule.parse("r", "score > 0.9", "why")
    with pytest.raises(RuleDefinitionError, match="unknown action 'deny'"):
        Rule.parse("r", "deny if score > 0.9", "why")
    assert Rule.parse("r", "block if score > 0.9", "why").action == "decline"
    with pytest.raises(RuleDefinitionError, match="description"):
        Rule.parse("r", "review if score > 0.9", "  ")
    with pytest.raises(RuleDefinitionError, match="mode"):
        Rule.parse("r", "review if score > 0.9", "why", mode="dry-run")
    with pytest.raises(RuleDefinitionError):
        Rule.parse("has space", "review if score > 0.9", "why")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("scroe > 0.9", "unknown attribute 'scroe'"),
        ("merchant_country > 5", "needs numbers"),
        ('amount == "US"', "compares a number with a string"),
        ("merchant_country + 1 > 2", "needs numbers"),
        ("-channel > 1", "needs numbers"),
        ('amount in ["a", "b"]', "'in' looks for a number"),
        ("merchant_country in [1, 2]", "'in' looks for a string"),
        ("merchant_id in @nowhere", "unknown list @nowhere"),
        ("(score > 1) == 1", "cannot be used as a value"),
        ("merchant_country and score > 1", "not a condition"),
    ],
)
def test_a_set_that_cannot_be_trusted_is_refused_at_compile_time(text: str, problem: str) -> None:
    rs = RuleSet((Rule.parse("r1", f"decline if {text}", "why"),))
    with pytest.raises(RuleDefinitionError, match=problem) as e:
        compile_ruleset(rs, KNOWN_ATTRIBUTES)
    assert e.value.rule_id == "r1"


@pytest.mark.parametrize(
    ("text", "problem", "column"),
    [
        ("amount", "a number is not a condition", 12),
        ("true", "a number is not a condition", 12),
        ("score > 0.5 and exposed", "a number is not a condition", 28),
        ("not  (amount * 2)", "a number is not a condition", 18),
        ("score > 0.5 or channel", "a string is not a condition", 27),
        ('amount == "abc"', "'==' compares a number with a string", 19),
        ("score > merchant_country", "'>' needs numbers", 20),
        ("merchant_id in @nolist", "unknown list @nolist", 27),
        ("scroe > 0.9", "unknown attribute 'scroe'", 12),
    ],
)
def test_a_refused_rule_is_named_with_a_caret_at_the_column(
    text: str, problem: str, column: int
) -> None:
    """A bare value as a condition (``decline if amount``) would fire on nearly every payment;
    it is refused like a type error, and every such error points at the character."""
    rule_text = f"decline if {text}"
    rs = RuleSet((Rule.parse("r1", rule_text, "why"),), {"trusted": ("m1",)})
    with pytest.raises(RuleDefinitionError, match=problem) as e:
        compile_ruleset(rs, KNOWN_ATTRIBUTES)
    assert e.value.rule_id == "r1" and e.value.position == column - 1
    message = str(e.value)
    assert message.startswith("rule 'r1': ") and f"at column {column}:" in message
    assert message.endswith(f"\n  {rule_text}\n  {' ' * (column - 1)}^")


def test_a_bare_value_is_refused_even_without_known_kinds() -> None:
    rs = RuleSet((Rule.parse("r1", "decline if x", "why"),))
    with pytest.raises(RuleDefinitionError, match="a value is not a condition"):
        compile_ruleset(rs)


def test_duplicate_ids_are_refused() -> None:
    r = Rule.parse("r1", "review if score > 0.5", "why")
    with pytest.raises(RuleDefinitionError, match="twice"):
        RuleSet((r, r))


def _truth(text: str, **values: object) -> bool | None:
    return compile_condition(parse_expression(text), {"l": ("US",)})(values)


def test_missing_values_make_comparisons_unknown_and_never_fire_a_rule() -> None:
    for missing in (None, math.nan, np.float64("nan")):
        assert _truth("x > 1", x=missing) is None
        assert _truth("x != 1", x=missing) is None
        assert _truth("not x == 1", x=missing) is None
        assert _truth("x in @l", x=missing) is None
        assert _truth("x not in @l", x=missing) is None
        assert _truth("x + 1 > 0", x=missing) is None
    assert _truth("x > 1 and y > 1", x=None, y=0) is False  # false and unknown
    assert _truth("x > 1 or y > 1", x=None, y=2) is True  # unknown or true
    assert _truth("x / y > 1", x=1, y=0) is None  # division by zero is missing


def test_values_of_any_usual_type_are_normalised() -> None:
    assert _truth("x == 1", x=True) is True
    assert _truth("x == 1", x=np.int8(1)) is True
    assert _truth("x == true", x=1) is True
    assert _truth('x == "US"', x=np.str_("US")) is True
    assert _truth('x == "1"', x=1) is False  # a number never equals a string
    assert _truth('x != "1"', x=1) is True


def test_a_rule_that_cannot_be_judged_raises_instead_of_being_skipped() -> None:
    rs = compile_ruleset(
        RuleSet(
            (
                Rule.parse("bad", "decline if x > 1", "why"),
                Rule.parse("other", "review if y > 1", "why"),
            )
        )
    )
    with pytest.raises(RuleEvaluationError, match=r"'bad'.*needs numbers"):
        rs.evaluate({"x": "oops", "y": 5})
    with pytest.raises(RuleEvaluationError, match=r"'bad'.*not supplied"):
        rs.evaluate({"y": 5})
    with pytest.raises(RuleEvaluationError, match="'bad'"):
        rs.evaluate({"x": object(), "y": 5})
    with pytest.raises(RuleEvaluationError, match=r"'bad'.*needs numbers"):
        rs.evaluate_columns({"x": np.array(["a", None], dtype=object), "y": np.zeros(2)})
    with pytest.raises(RuleEvaluationError, match=r"'bad'.*not supplied"):
        rs.evaluate_columns({"y": np.zeros(2)})
    with pytest.raises(RuleEvaluationError, match="datetime64"):
        rs.evaluate_columns({"x": np.array(["2024-01-01"] * 2, "M8[s]"), "y": np.zeros(2)})


def _set(*rules: tuple[str, str, str]) -> RuleSet:
    return RuleSet(tuple(Rule.parse(i, text, f"because {i}", mode) for i, text, mode in rules))


def test_radar_order_allow_then_challenge_then_decline_then_review() -> None:
    rs = compile_ruleset(
        _set(
            ("rev", "review if x > 0", "live"),
            ("dec", "decline if x > 1", "live"),
            ("cha", "challenge if x > 2", "live"),
            ("alw", "allow if x > 3", "live"),
            ("dec2", "decline if x > 2", "live"),
        )
    )
    decided = [rs.evaluate({"x": x}).rule for x in (0, 1, 2, 3, 4)]
    assert [r.id if r else None for r in decided] == [None, "rev", "dec", "cha", "alw"]
    cols = rs.evaluate_columns({"x": np.array([0, 1, 2, 3, 4])})
    assert cols.deciding.tolist() == [-1, 0, 1, 2, 3]
    assert cols.hits[4].tolist() == [False, False, False, True, True]  # dec2 hits, never decides


def test_shadow_rules_are_counted_but_never_decide() -> None:
    rs = compile_ruleset(
        _set(("new", "decline if x > 1", "shadow"), ("old", "review if x > 5", "live"))
    )
    v = rs.evaluate({"x": 3})
    assert v.rule is None and [r.id for r in v.shadow_hits] == ["new"]
    v = rs.evaluate({"x": 9})
    assert v.rule is not None and v.rule.id == "old" and v.action == "review"
    assert rs.evaluate_columns({"x": np.array([3, 9])}).deciding.tolist() == [-1, 1]


def test_a_deciding_rule_gives_its_reason_and_decision_action() -> None:
    rule = Rule.parse("hot", "review if score > 0.9", "Very high risk score.")
    assert rule.reason.code == "rule:hot"
    assert rule.reason.message == "Very high risk score."
    assert rule.action.decision == "review"
    assert Rule.parse("ok", "allow if score < 0.1", "x").action.decision == "approve"


def test_vectorised_columns_accept_arrow_style_object_columns() -> None:
    rs = compile_ruleset(_set(("r", 'decline if c == "US" and f == 1 and a > 1', "live")))
    cols = {
        "c": np.array(["US", None, "US", "GB"], dtype=object),
        "f": np.array([True, True, None, True], dtype=object),
        "a": np.array([2, 2, 2, None], dtype=object),
    }
    assert rs.evaluate_columns(cols).hits[0].tolist() == [True, False, False, False]
    with pytest.raises(RuleEvaluationError, match="different lengths"):
        rs.evaluate_columns({"c": np.array(["US"]), "f": np.ones(2), "a": np.ones(2)})


def test_scalar_evaluation_is_fast_enough_for_the_live_path() -> None:
    rs = compile_ruleset(
        _set(*[(f"r{i}", f"decline if x > {i} and y == 'a'", "live") for i in range(20)])
    )
    values = {"x": -1.0, "y": "a"}
    import time

    start = time.perf_counter()
    for _ in range(1000):
        rs.evaluate(values)
    per_rule = (time.perf_counter() - start) / 1000 / 20
    assert per_rule < 20e-6  # generous: a few µs expected
