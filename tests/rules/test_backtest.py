"""The backtest counts: checked by hand on a small history."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from cardwatch.rules import Rule, RuleDefinitionError, RuleSet, backtest
from cardwatch.rules.render import backtest_tables, ruleset_table

# Six payments by three cards; rows 0 and 3 are fraud.
COLUMNS = {
    "score": np.array([0.95, 0.92, 0.40, 0.85, 0.10, np.nan]),
    "cnp": np.array([0, 0, 1, 1, 1, 1]),
}
LABELS = np.array([1, 0, 0, 1, 0, np.nan])
AMOUNTS = np.array([100.0, 20.0, 30.0, 400.0, 5.0, 7.0])
CARDS = np.array(["c1", "c2", "c2", "c3", "c3", "c1"], dtype=object)


def _set(*rules: tuple[str, str, str], version: int | None = None) -> RuleSet:
    return RuleSet(
        tuple(Rule.parse(i, text, f"because {i}", mode) for i, text, mode in rules),
        version=version,
    )


CANDIDATE = _set(
    ("hot", "decline if score > 0.9", "live"),
    ("cnp", "challenge if cnp == 1 and score > 0.3", "live"),
    ("any", "review if score >= 0", "shadow"),
)
BASELINE = _set(("hot", "decline if score > 0.99", "live"), version=4)


def test_per_rule_and_per_set_counts() -> None:
    r = backtest(COLUMNS, LABELS, AMOUNTS, CARDS, CANDIDATE, BASELINE)
    assert (r.rows, r.frauds, r.honest, r.fraud_amount) == (6, 2, 4, 500.0)
    hot, cnp, any_ = r.candidate.rules
    assert (hot.hits, hot.decided, hot.frauds, hot.fraud_amount) == (2, 2, 1, 100.0)
    assert (hot.honest, hot.honest_cards) == (1, 1)
    # cnp hits rows 2 and 3; row 3 (fraud) decided by cnp as challenge comes before decline.
    assert (cnp.hits, cnp.decided, cnp.frauds, cnp.honest, cnp.honest_cards) == (2, 2, 1, 1, 1)
    assert (any_.hits, any_.decided, any_.honest, any_.honest_cards) == (5, 0, 3, 2)
    c = r.candidate
    assert c.by_action["decline"].rows == 2 and c.by_action["challenge"].rows == 2
    assert (c.frauds_stopped, c.fraud_amount_stopped) == (2, 500.0)
    assert (c.honest_declined, c.honest_challenged) == (1, 1)
    assert c.honest_decline_rate == pytest.approx(0.25)
    assert c.honest_challenge_rate == pytest.approx(0.25)
    assert c.honest_cards_hurt == 1  # both honest stops were card c2
    b = r.baseline
    assert b.version == 4 and b.frauds_stopped == 0 and b.honest_cards_hurt == 0
    pairs = r.rule_pairs()
    assert [p[0] for p in pairs] == ["hot", "cnp", "any"]
    assert pairs[0][2] is not None and pairs[1][2] is None


def test_report_serialises_to_json_and_renders() -> None:
    r = backtest(COLUMNS, LABELS, AMOUNTS, CARDS, CANDIDATE, BASELINE)
    data = json.loads(r.to_json())
    assert data["candidate"]["rules"][0]["rule_id"] == "hot"
    assert data["baseline"]["by_action"]["decline"]["rows"] == 0
    console = Console(width=200, record=True)
    console.print(backtest_tables(r))
    console.print(ruleset_table(CANDIDATE))
    text = console.export_text()
    assert "honest cardholders hurt" in text and "hot" in text and "25.000%" in text


def test_a_rule_reading_a_column_the_replay_lacks_is_refused() -> None:
    bad = _set(("x", "decline if velocity > 3", "live"))
    with pytest.raises(RuleDefinitionError, match="velocity"):
        backtest(COLUMNS, LABELS, AMOUNTS, CARDS, bad, BASELINE)


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        backtest(COLUMNS, LABELS[:3], AMOUNTS, CARDS, CANDIDATE, BASELINE)
    with pytest.raises(ValueError):
        backtest(COLUMNS, LABELS[:3], AMOUNTS[:3], CARDS[:3], CANDIDATE, BASELINE)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('decline if score == "high"', "compares a number with a string"),
        ("decline if cnp", "not a condition"),
        ("decline if mcc > 5000", "needs numbers"),
    ],
)
def test_a_candidate_that_would_silently_misfire_is_refused_before_counting(
    text: str, problem: str
) -> None:
    """Checked against the columns' kinds, not their names alone: a number column compared with
    a string never fires, a bare value fires on every non-zero row."""
    columns = {**COLUMNS, "mcc": np.array(["5411"] * 6, dtype=object)}
    with pytest.raises(RuleDefinitionError, match=problem):
        backtest(columns, LABELS, AMOUNTS, CARDS, _set(("r", text, "live")), BASELINE)
