"""Two places holding the same victims are held until the next victims tell them apart
(``DetectConfig.hold_ambiguous``): the echo of a breach — a place its victims also use — must
not alert in its stead."""

from __future__ import annotations

import importlib
from datetime import timedelta

from tests.breach.conftest import TWINS_AS_OF as AS_OF
from tests.breach.conftest import twin_places

from cardwatch.breach import DetectConfig, detect, survey, survey_daily
from cardwatch.breach.detect import _ambiguous
from cardwatch.breach.places import PlaceScore

#: The module (the package's ``detect`` is the function of the same name).
detect_module = importlib.import_module("cardwatch.breach.detect")


def _places(found: list) -> set[str]:
    return {s.merchant_id for s in found}


def test_two_places_with_the_same_victims_are_held() -> None:
    both = twin_places(list(range(20, 28)))  # eight victims, customers of A and of B
    assert _places(detect(both, AS_OF, DetectConfig(hold_ambiguous=False))) & {"A", "B"}
    assert not _places(detect(both, AS_OF)) & {"A", "B"}


def test_victims_of_one_place_only_decide_between_them() -> None:
    told_apart = twin_places([*range(20, 28), 0, 1, 2, 3])  # four more, customers of A alone
    assert _places(detect(told_apart, AS_OF)) == {"A"}


def test_an_echo_that_came_first_is_dropped_once_the_breach_alerts() -> None:
    # B's 15 customers are all A's too; all 15 are defrauded, with 6 of A's other customers.
    # B is the stronger (15 of 15) and alerts first; A then alerts on its 6 cards of its own.
    # Tested again without A's victims, B has nothing left: it was A's echo.
    history = twin_places([*range(20, 35), *range(0, 6)], b_last=34)
    one_way = detect(history, AS_OF, DetectConfig(recheck_alerts=False))
    assert [s.merchant_id for s in one_way] == ["B", "A"]
    found = detect(history, AS_OF)
    assert [(s.merchant_id, s.fraud_cards) for s in found] == [("A", 21)]


def test_the_victims_of_a_known_breach_are_set_aside() -> None:
    # The same echo, in a run that knows A already (alerted the day before, say): B is tested
    # without A's victims, and has none of its own; A alerts again, as it stands now.
    history = twin_places([*range(20, 35), *range(0, 6)], b_last=34)
    [a] = detect(history, AS_OF)
    one_way = DetectConfig(recheck_alerts=False)
    found = survey(history, AS_OF, one_way, known=[a])
    assert [s.merchant_id for s in found.suspects] == ["A"] and found.held == []
    forgetful = DetectConfig(recheck_alerts=False, explain_known=False)
    assert [s.merchant_id for s in survey(history, AS_OF, forgetful, known=[a]).suspects] == [
        "B",
        "A",
    ]


def test_each_daily_run_knows_the_alerts_of_the_runs_before(monkeypatch) -> None:
    history = twin_places([*range(20, 28), 0, 1, 2, 3], late=(2500,))  # a report on day 57
    seen: list[list[str]] = []
    survey_with = detect_module.survey_with

    def spy(engine, as_of, config, known=()):
        seen.append(sorted(k.key for k in known))
        return survey_with(engine, as_of, config, known)

    monkeypatch.setattr(detect_module, "survey_with", spy)
    runs = list(survey_daily(history, AS_OF - timedelta(days=9), AS_OF))
    assert len(runs) >= 2 and seen[0] == []
    first = next(i for i, (_, run) in enumerate(runs) if run.suspects)
    assert len(seen) > first + 1 and all("store:A" in k for k in seen[first + 1 :])


def _score(key: str, log_p: float, cards: list[str], level: str = "store",
           chain: str | None = None) -> PlaceScore:  # fmt: skip
    return PlaceScore(level, key, chain, 0, 1, len(cards), 100, 0.5, log_p, 0.0, 0, 10, cards)


def test_a_rival_must_hold_every_victim_and_be_nearly_as_strong() -> None:
    config = DetectConfig()
    p = _score("A", -10.0, ["c1", "c2", "c3"])
    superset = _score("B", -8.0, ["c1", "c2", "c3", "c4"])
    assert _ambiguous(config, p, [p, superset], set()) is superset
    missing_one = _score("B", -8.0, ["c1", "c2", "c4"])
    assert _ambiguous(config, p, [p, missing_one], set()) is None
    far_weaker = _score("B", -5.0, ["c1", "c2", "c3"])
    assert _ambiguous(config, p, [p, far_weaker], set()) is None
    assert _ambiguous(config, p, [p, superset], {("store", "B")}) is None
    own_chain = _score("CHAIN", -9.0, ["c1", "c2", "c3"], "chain")
    mine = _score("A", -10.0, ["c1", "c2", "c3"], chain="CHAIN")
    assert _ambiguous(config, mine, [mine, own_chain], set()) is None
    one_outside = DetectConfig(ambiguity_outside_cards=1)
    assert _ambiguous(one_outside, p, [p, missing_one], set()) is missing_one
    two_outside = _score("B", -8.0, ["c1", "c4"])
    assert _ambiguous(one_outside, p, [p, two_outside], set()) is None
    off = DetectConfig(hold_ambiguous=False)
    assert _ambiguous(off, p, [p, superset], set()) is None
