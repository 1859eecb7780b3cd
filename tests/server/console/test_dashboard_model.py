"""Dashboard and model pages with data: numbers that follow from the seeded store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient

from cardwatch.store.records import Label, Link, OutboxDraft
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

from .seed import T0, Seeded


def _label(store: SqlStore, txn_id: str, card: str, fraud: bool) -> None:
    store.add_label(Label(txn_id, card, fraud, T0 + timedelta(days=1), "test"))


def test_dashboard_counts_outcomes_notices_and_unblocks(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    _label(store, "p_alert", world.plain_card, True)  # challenged: caught
    _label(store, "v0", world.victim_card, True)  # approved: missed
    _label(store, "d1", world.plain_card, False)  # declined, honest: a cardholder hurt
    store.enqueue([OutboxDraft("decline_notice", world.plain_card, {})], T0)
    declined = store.decisions_for_card(world.plain_card)[0]
    link = Link(
        "unblock",
        world.plain_card,
        {"decision_id": declined.decision.decision_id},
        T0 + timedelta(days=1),
        declined.timestamp,
    )
    store.create_link(link)
    store.consume_link(link.link_id, declined.timestamp + timedelta(seconds=42))
    login("ana")
    html = app_client.get("/console/dashboard").text
    assert "15" in html  # authorisations seeded
    kpis = {label: value for value, label in _kpis(html)}
    assert kpis["fraud caught (labelled)"] == "1"
    assert kpis["fraud missed (labelled)"] == "1"
    assert kpis["honest cardholders declined (1 payments)"] == "1"
    assert kpis["notices sent"] == "1"
    assert kpis["self-unblocks"] == "1"
    assert kpis["median time to unblock"] == "42 s"
    assert html.count("<svg") >= 3


def _kpis(html: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<div class="kpi[^"]*"><b>([^<]*)</b><span>([^<]*)</span>', html)


def test_model_page_threshold_chooser(
    app_client: TestClient, login: Callable[[str], str], world: Seeded, store: SqlStore
) -> None:
    _label(store, "p_alert", world.plain_card, True)  # score 0.97
    _label(store, "d1", world.plain_card, False)  # score 0.93
    _label(store, "v_alert", world.victim_card, False)  # score 0.40
    login("ana")
    html = app_client.get("/console/model?threshold=0.95").text
    kpis = {label: value for value, label in _kpis(html)}
    assert kpis["frauds caught"] == "1 (100.0%)"
    assert kpis["honest payments declined"] == "0"
    lower = {label: v for v, label in _kpis(app_client.get("/console/model?threshold=0.9").text)}
    assert lower["honest payments declined"] == "1"
    assert lower["honest cardholders declined"] == "1"


def test_model_page_shows_a_registered_model(
    app_client: TestClient, login: Callable[[str], str], workspace: Workspace
) -> None:
    from cardwatch.model import FraudModel
    from cardwatch.model.registry import ModelRegistry

    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=3000) > 1.6).astype(np.int8)
    model = FraudModel(n_estimators=10, num_leaves=7, num_threads=1).fit(
        X, y, ["amount_ratio_to_mean", "card_txn_count_1h", "noise"]
    )
    metrics = {"roc_auc": 0.912, "average_precision": 0.634, "card_precision_at_100": 0.281}
    ModelRegistry.for_workspace(workspace).save(model, {"metrics": metrics})
    login("ana")
    html = app_client.get("/console/model").text
    assert "v0001 in use" in html and "0.912" in html and "0.281" in html
    assert html.index("amount_ratio_to_mean") < html.index("noise")  # importance, largest first
