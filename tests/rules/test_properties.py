"""Properties over random rules and rows: printing round-trips, and the scalar (live) and
vectorised (backtest) evaluators agree on every row, errors included."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from cardwatch.rules import (
    CompiledRuleSet,
    Mode,
    Rule,
    RuleAction,
    RuleDefinitionError,
    RuleEvaluationError,
    RuleSet,
    compile_ruleset,
    parse_expression,
    to_source,
)
from cardwatch.rules.nodes import (
    Arith,
    Attr,
    Bool,
    Compare,
    Expr,
    In,
    ListLiteral,
    ListRef,
    Logic,
    Neg,
    Not,
    Num,
    Str,
)

NUM_ATTRS = ("a", "b", "f")
STR_ATTRS = ("s", "u")
ANY_ATTRS = ("m",)
WORDS = ("US", "GB", "x", "", "a b", 'q"uote')
LISTS = {"L": ("US", "x", "zz")}

numbers = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 100.0, 1e-3, 1e300]) | st.floats(
    min_value=0, allow_nan=False, allow_infinity=False
)
num_leaf = st.one_of(
    numbers.map(Num),
    st.booleans().map(Bool),
    st.sampled_from(NUM_ATTRS + ANY_ATTRS).map(Attr),
)
str_leaf = st.one_of(
    st.sampled_from(WORDS).map(Str), st.sampled_from(STR_ATTRS + ANY_ATTRS).map(Attr)
)
num_expr = st.recursive(
    num_leaf,
    lambda inner: st.one_of(
        inner.map(Neg),
        st.builds(Arith, st.sampled_from("+-*/"), inner, inner),
    ),
    max_leaves=5,
)
value_expr = num_expr | str_leaf
list_items = st.lists(st.sampled_from(WORDS) | numbers | st.just(-2.0), max_size=4).map(tuple)
atom_cond = st.one_of(
    st.builds(Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num_expr, num_expr),
    st.builds(Compare, st.sampled_from(["==", "!="]), value_expr, value_expr),
    st.builds(In, value_expr, list_items.map(ListLiteral), st.booleans()),
    st.builds(In, value_expr, st.just(ListRef("L")), st.booleans()),
    num_expr,
)
conditions = st.recursive(
    atom_cond,
    lambda inner: st.one_of(
        inner.map(Not), st.builds(Logic, st.sampled_from(["and", "or"]), inner, inner)
    ),
    max_leaves=6,
)

float_values = st.sampled_from([0.0, -0.0, 1.0, 2.0, -1.0, 0.5, 100.0, math.nan, math.inf])
float_values = float_values | st.floats(allow_nan=True, allow_infinity=True)
str_values = st.sampled_from([*WORDS, None])
mixed_values = st.one_of(str_values, float_values, st.integers(-3, 3), st.booleans())


@st.composite
def frames(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 12))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    return {
        "a": np.array(col(float_values), dtype=np.float64),
        "b": np.array(col(float_values), dtype=np.float64),
        "f": np.array(col(st.integers(0, 2)), dtype=np.int64),
        "s": np.array(col(str_values), dtype=object),
        "u": np.array(col(st.sampled_from(WORDS)), dtype=str),
        "m": np.array(col(mixed_values), dtype=object),
    }


rule_specs = st.lists(
    st.tuples(conditions, st.sampled_from(list(RuleAction)), st.sampled_from(list(Mode))),
    min_size=1,
    max_size=5,
)


def _compiled(specs: list[tuple[Expr, RuleAction, Mode]]) -> CompiledRuleSet:
    """The rules, compiled without known kinds; sets the static check refuses (a number
    compared with a string literal, a bare value as a condition) are not what these
    properties are about."""
    rules = tuple(
        Rule(f"r{i}", action, cond, f"rule {i}", mode)
        for i, (cond, action, mode) in enumerate(specs)
    )
    try:
        return compile_ruleset(RuleSet(rules, LISTS))
    except RuleDefinitionError:
        reject()


@settings(max_examples=300)
@given(conditions)
def test_printed_rules_parse_back_to_the_same_tree(cond: Expr) -> None:
    assert parse_expression(to_source(cond)) == cond


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_specs, frames())
def test_scalar_and_vectorised_evaluation_agree(
    specs: list[tuple[Expr, RuleAction, Mode]], cols: dict[str, np.ndarray]
) -> None:
    compiled = _compiled(specs)
    n = len(cols["a"])
    rows = [{k: v[i] for k, v in cols.items()} for i in range(n)]

    scalar_error = False
    for row in rows:
        try:
            compiled.matches(row)
        except RuleEvaluationError:
            scalar_error = True
    try:
        verdict = compiled.evaluate_columns(cols)
    except RuleEvaluationError:
        event("evaluation error")
        assert scalar_error, "vectorised path failed where every row is judged by the scalar path"
        return
    assert not scalar_error, "scalar path failed on a row the vectorised path judged"
    event(f"rows decided by a rule: {'some' if (verdict.deciding >= 0).any() else 'none'}")

    for i, row in enumerate(rows):
        assert compiled.matches(row) == tuple(bool(h) for h in verdict.hits[:, i])
        one = compiled.evaluate(row)
        assert one.index == verdict.deciding[i]
        shadow = {r.id for r in one.shadow_hits}
        expected = {
            r.id
            for j, r in enumerate(compiled.ruleset.rules)
            if r.mode is Mode.SHADOW and verdict.hits[j, i]
        }
        assert shadow == expected


@settings(max_examples=200, deadline=None)
@given(conditions, frames())
def test_negation_never_fires_where_the_condition_is_unknown(
    cond: Expr, cols: dict[str, np.ndarray]
) -> None:
    """A rule and its negation never both fire; where neither does, a value was missing."""
    yes = _compiled([(cond, RuleAction.DECLINE, Mode.LIVE)])
    no = _compiled([(Not(cond), RuleAction.DECLINE, Mode.LIVE)])
    try:
        hit_yes = yes.evaluate_columns(cols).hits[0]
        hit_no = no.evaluate_columns(cols).hits[0]
    except RuleEvaluationError:
        return
    assert not np.any(hit_yes & hit_no)
