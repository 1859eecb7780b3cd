"""Small ``default`` worlds shared by the world tests (simulated once per session)."""

from __future__ import annotations

import pytest

from cardwatch.world import BreachConfig, FraudConfig, World, WorldConfig, simulate

#: A small world with plenty of every kind of fraud, so each scenario shows up.
SMALL = WorldConfig(
    seed=3,
    cards=600,
    days=60,
    breach=BreachConfig(start_day=15, window_days=10, share_defrauded=0.3, delay_days=2),
    fraud=FraudConfig(
        decoys=1,
        skimmers=2,
        card_testing_rate=0.01,
        lost_stolen_rate=0.01,
        phishing_rate=0.02,
        report_share=0.6,
    ),
)


@pytest.fixture(scope="session")
def small_world() -> World:
    return simulate(SMALL)
