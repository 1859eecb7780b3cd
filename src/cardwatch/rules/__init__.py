"""The rule language: parse, check, evaluate (one payment or millions of rows), version, backtest.

Rules read like Stripe Radar's: ``decline if score > 0.9 and entry_mode == "magstripe" and
merchant_country != home_country``. They are parsed into a tree, never ``eval``'d; one tree feeds
both the live evaluator and the vectorised one, so a backtest measures exactly what will decide.
"""

from __future__ import annotations

from cardwatch.rules.backtest import ActionStats, BacktestReport, RuleStats, SetStats, backtest
from cardwatch.rules.check import Kind
from cardwatch.rules.errors import (
    RuleDefinitionError,
    RuleError,
    RuleEvaluationError,
    RuleSyntaxError,
)
from cardwatch.rules.evaluate import ColumnVerdict, CompiledRuleSet, Verdict, compile_ruleset
from cardwatch.rules.nodes import to_source
from cardwatch.rules.parser import parse_expression, parse_rule
from cardwatch.rules.ruleset import EVALUATION_ORDER, Mode, Rule, RuleAction, RuleSet
from cardwatch.rules.store import RuleStore
from cardwatch.rules.toml_io import default_ruleset, dumps_ruleset, load_ruleset, loads_ruleset
from cardwatch.rules.vocabulary import KNOWN_ATTRIBUTES

__all__ = [
    "EVALUATION_ORDER",
    "KNOWN_ATTRIBUTES",
    "ActionStats",
    "BacktestReport",
    "ColumnVerdict",
    "CompiledRuleSet",
    "Kind",
    "Mode",
    "Rule",
    "RuleAction",
    "RuleDefinitionError",
    "RuleError",
    "RuleEvaluationError",
    "RuleSet",
    "RuleStats",
    "RuleStore",
    "RuleSyntaxError",
    "SetStats",
    "Verdict",
    "backtest",
    "compile_ruleset",
    "default_ruleset",
    "dumps_ruleset",
    "load_ruleset",
    "loads_ruleset",
    "parse_expression",
    "parse_rule",
    "to_source",
]
