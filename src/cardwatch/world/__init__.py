"""The synthetic issuer: cardholders, merchants, everyday spending, fraud and breach scenarios.

No issuer hands out its transactions, so every capability of cardwatch (decisions, models,
breach detection) is built and measured on this world. ``simulate`` makes the ``default``
portfolio, ``simulate_handbook`` the Fraud-Detection Handbook's dataset; both are pure
functions of their config and return a :class:`World` of Arrow tables and a ground truth.
"""

from __future__ import annotations

from cardwatch.world.assemble import TRANSACTIONS_SCHEMA
from cardwatch.world.catalogue import SCENARIOS
from cardwatch.world.config import BreachConfig, FraudConfig, HandbookConfig, WorldConfig
from cardwatch.world.handbook import simulate_handbook
from cardwatch.world.portfolio import simulate
from cardwatch.world.result import World

__all__ = [
    "SCENARIOS",
    "TRANSACTIONS_SCHEMA",
    "BreachConfig",
    "FraudConfig",
    "HandbookConfig",
    "World",
    "WorldConfig",
    "simulate",
    "simulate_handbook",
]
