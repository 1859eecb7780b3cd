"""Exposure counts unique cards at the breached stores; triage puts the real victims first."""

from __future__ import annotations

from datetime import UTC, datetime

from cardwatch.breach import detect
from cardwatch.breach.exposure import exposure, reissue_plan, triage

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)


def test_exposure_and_triage_put_victims_first(breached_world) -> None:
    suspect = detect(breached_world.table, AS_OF)[0]
    exp = exposure(breached_world.table, suspect)
    assert len(exp.cards) == len(set(exp.cards)) >= suspect.fraud_cards
    assert exp.transactions >= len(exp.cards) and exp.customers == len(exp.cards)
    ranked = triage(breached_world.table, exp, AS_OF)
    assert [r.card_id for r in ranked] and len(ranked) == len(exp.cards)
    victims = breached_world.victims & set(exp.cards)
    top = {r.card_id for r in ranked[: len(victims)]}
    assert len(top & victims) >= 0.8 * len(victims)
    plan = reissue_plan(ranked, suspect)
    assert plan[0]["action"] == "block_and_reissue"
    assert plan[-1]["action"] == "monitor"
