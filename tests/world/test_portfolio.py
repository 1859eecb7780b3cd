"""The ``default`` world: contract columns, labels that obey time, and scenarios that match the
truth they are recorded in."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cardwatch.errors import ConfigurationError
from cardwatch.schema import CHANNELS, ENTRY_MODES, HISTORY_SCHEMA
from cardwatch.world import SCENARIOS, BreachConfig, World, WorldConfig, simulate

from .conftest import SMALL


@pytest.fixture(scope="module")
def tx(small_world: World) -> pd.DataFrame:
    return small_world.transactions.to_pandas()


def test_transactions_have_the_contract_columns_plus_scenario(small_world: World) -> None:
    schema = small_world.transactions.schema
    assert schema.names == [*HISTORY_SCHEMA.names, "scenario"]
    for f in HISTORY_SCHEMA:
        assert schema.field(f.name).type == f.type, f.name
    assert schema.field("scenario").type == pa.string()


def test_rows_sorted_by_time_then_id_with_unique_ids(tx: pd.DataFrame) -> None:
    assert tx["txn_id"].is_unique
    keys = list(zip(tx["timestamp"], tx["txn_id"], strict=True))
    assert keys == sorted(keys)


def test_values_use_the_contract_vocabularies(tx: pd.DataFrame) -> None:
    assert set(tx["channel"]) <= set(CHANNELS)
    assert set(tx["entry_mode"]) <= set(ENTRY_MODES)
    assert set(tx["scenario"]) == set(SCENARIOS)
    assert tx["mcc"].str.fullmatch(r"\d{4}").all()
    assert tx["merchant_country"].str.fullmatch(r"[A-Z]{2}").all()
    assert (tx["amount"] > 0).all()
    assert tx["card_id"].str.fullmatch(r"c\d{7}").all()
    assert (tx["currency"] == "EUR").all()
    cp = tx["channel"] == "card_present"
    assert tx.loc[cp, "merchant_lat"].notna().all()
    assert (tx.loc[tx["channel"] == "ecommerce", "entry_mode"].isin(
        ["ecommerce", "credential_on_file"])).all()  # fmt: skip


def test_some_customers_hold_several_cards(small_world: World) -> None:
    cards = small_world.cards.to_pandas()
    assert cards["customer_id"].value_counts().max() >= 2
    assert set(small_world.cards.schema.names) >= {
        "card_id", "customer_id", "home_country", "home_lat", "home_lon"
    }  # fmt: skip
    assert (cards["home_country"] == "FR").mean() > 0.8


def test_honest_rows_carry_no_label(tx: pd.DataFrame) -> None:
    honest = tx[tx["scenario"] == ""]
    assert (honest["is_fraud"] == 0).all()
    assert honest["fraud_reported_at"].isna().all()


def test_labels_come_after_the_fraud_and_per_card(tx: pd.DataFrame) -> None:
    labelled = tx[tx["is_fraud"] == 1]
    assert len(labelled) > 0
    assert (labelled["scenario"] != "").all()
    assert (labelled["fraud_reported_at"] >= labelled["timestamp"]).all()
    # A cardholder reports every fraud on the card at once.
    assert (labelled.groupby("card_id")["fraud_reported_at"].nunique() == 1).all()


def test_some_fraud_is_never_reported(tx: pd.DataFrame) -> None:
    silent = tx[(tx["scenario"] != "") & (tx["is_fraud"] == 0)]
    assert len(silent) > 0
    assert silent["fraud_reported_at"].isna().all()


def test_blocked_cards_are_not_used_after_the_report(small_world: World, tx: pd.DataFrame) -> None:
    cards = small_world.cards.to_pandas()
    blocked = cards.dropna(subset=["blocked_at"]).set_index("card_id")["blocked_at"]
    assert len(blocked) > 0
    used = tx[tx["card_id"].isin(blocked.index)]
    assert (used["timestamp"] <= used["card_id"].map(blocked)).all()
    new = cards.dropna(subset=["replaces"])
    assert set(new["replaces"]) == set(blocked.index)
    assert tx["card_id"].isin(new["card_id"]).any()


def test_the_breach_matches_its_truth(small_world: World, tx: pd.DataFrame) -> None:
    breach = small_world.truth["breaches"][0]
    assert breach["kind"] == "breach" and breach["chain"] == "Grand Bazar"
    stores = small_world.merchants.to_pandas()
    chain = stores[stores["chain"] == "Grand Bazar"]
    assert set(breach["merchant_ids"]) == set(chain["merchant_id"])
    assert set(breach["terminal_ids"]) == {
        t for ids in chain["terminal_ids"] for t in ids.split(";")
    }
    start, end = pd.Timestamp(breach["window_start"]), pd.Timestamp(breach["window_end"])
    at_tills = tx[
        tx["terminal_id"].isin(breach["terminal_ids"])
        & (tx["timestamp"] >= start) & (tx["timestamp"] < end) & (tx["scenario"] == "")
    ]  # fmt: skip
    assert set(at_tills["card_id"]) == set(breach["exposed_cards"])
    assert set(breach["defrauded_cards"]) <= set(breach["exposed_cards"])
    assert 0 < len(breach["defrauded_cards"]) < len(breach["exposed_cards"])
    frauds = tx[tx["card_id"].isin(breach["defrauded_cards"]) & (tx["scenario"] == "breach")]
    assert frauds["timestamp"].min() == pd.Timestamp(breach["first_fraud_at"])
    assert frauds["timestamp"].min() > start
    first_seen = at_tills.groupby("card_id")["timestamp"].min()
    first_fraud = frauds.groupby("card_id")["timestamp"].min()
    assert (first_fraud > first_seen.reindex(first_fraud.index)).all()
    # Mostly counterfeit magstripe abroad, some online.
    assert (frauds["merchant_country"] != "FR").mean() > 0.5
    assert frauds["entry_mode"].isin(["magstripe", "fallback"]).mean() > 0.4
    assert (frauds["channel"] == "ecommerce").any()
    reports = tx[tx["card_id"].isin(breach["reported_cards"]) & (tx["is_fraud"] == 1)]
    assert reports["fraud_reported_at"].min() == pd.Timestamp(breach["first_report_at"])


def test_decoys_and_skimmers_are_recorded(small_world: World, tx: pd.DataFrame) -> None:
    truth = small_world.truth
    assert [b["kind"] for b in truth["breaches"]] == ["breach", "decoy"]
    assert len(truth["skimmers"]) == 2
    for s in truth["skimmers"]:
        assert len(s["merchant_ids"]) == 1
        assert set(s["defrauded_cards"]) <= set(s["exposed_cards"])
    for name in ("card_testing", "lost_stolen", "phishing"):
        rows = tx[tx["scenario"] == name]
        assert truth[name]["transactions"] == len(rows)
        assert set(truth[name]["cards"]) == set(rows["card_id"])
    stats = truth["stats"]
    assert stats["transactions"] == len(tx)
    assert stats["fraud_transactions"] == int((tx["scenario"] != "").sum())


def test_scenario_signatures(tx: pd.DataFrame) -> None:
    testing = tx[tx["scenario"] == "card_testing"]
    assert (testing["channel"] == "ecommerce").all()
    assert (testing["amount"] < 10).any() and (testing["amount"] > 100).any()
    stolen = tx[tx["scenario"] == "lost_stolen"]
    assert (stolen["entry_mode"] == "contactless").all() and (stolen["amount"] <= 50).all()
    assert (stolen["merchant_country"] == "FR").mean() > 0.8
    assert (tx.loc[tx["scenario"] == "phishing", "channel"] == "ecommerce").all()


def test_honest_cross_border_payments_are_common(tx: pd.DataFrame) -> None:
    honest = tx[tx["scenario"] == ""]
    us_web = honest[(honest["merchant_country"] == "US") & (honest["channel"] == "ecommerce")]
    assert us_web["card_id"].nunique() > 0.1 * honest["card_id"].nunique()
    abroad_cp = honest[(honest["merchant_country"] != "FR") & (honest["channel"] == "card_present")]
    assert abroad_cp["card_id"].nunique() > 0.05 * honest["card_id"].nunique()


def test_fraud_rate_is_realistic_for_the_default_mix() -> None:
    world = simulate(WorldConfig(cards=1500, seed=1))
    rate = world.truth["stats"]["fraud_rate"]
    assert 0.0005 < rate < 0.006
    per_card_day = world.transactions.num_rows / (1500 * 120)
    assert 0.6 < per_card_day < 1.1


def test_same_seed_same_world_other_seed_other_world() -> None:
    config = dataclasses.replace(SMALL, cards=150)
    a, b = simulate(config), simulate(config)
    assert a.transactions.equals(b.transactions)
    assert a.cards.equals(b.cards) and a.merchants.equals(b.merchants)
    assert a.truth == b.truth
    c = simulate(dataclasses.replace(config, seed=4))
    assert not a.transactions.equals(c.transactions)


def test_breach_knobs() -> None:
    base = WorldConfig(cards=400).resized(days=40)
    small = dataclasses.replace(base, breach=dataclasses.replace(base.breach, stores=2))
    truth = simulate(small).truth["breaches"][0]
    assert len(truth["merchant_ids"]) == 2
    none = dataclasses.replace(base, breach=dataclasses.replace(base.breach, share_defrauded=0.0))
    assert simulate(none).truth["breaches"][0]["defrauded_cards"] == []
    ranked = dataclasses.replace(base, breach=BreachConfig(chain=None, chain_rank=0, start_day=5))
    assert simulate(ranked).truth["breaches"][0]["chain"] == "MarchéPlus"


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        WorldConfig(days=30)  # the default breach (day 45) does not fit
    with pytest.raises(ConfigurationError):
        simulate(WorldConfig(breach=BreachConfig(chain="Nope"), cards=50, days=60))


def test_ids_are_opaque(tx: pd.DataFrame) -> None:
    assert not tx["card_id"].map(lambda s: bool(re.fullmatch(r"\d{12,19}", s))).any()
    assert np.all(tx["merchant_id"].str.startswith("M"))


def test_fraud_knobs_leave_honest_spending_alone() -> None:
    base = WorldConfig(
        cards=300, seed=2, fraud=dataclasses.replace(SMALL.fraud, lost_stolen_rate=0)
    )
    base = base.resized(days=40)
    more = dataclasses.replace(
        base,
        breach=dataclasses.replace(base.breach, share_defrauded=0.5),
        fraud=dataclasses.replace(base.fraud, phishing_rate=0.05),
    )

    def honest(config: WorldConfig) -> list[tuple]:
        tx = simulate(config).transactions.to_pandas()
        tx = tx[tx["scenario"] == ""]
        # Card ids of reported victims change (replacement cards); the payments do not.
        return sorted(zip(tx["timestamp"], tx["terminal_id"], tx["amount"], strict=True))

    assert honest(base) == honest(more)
