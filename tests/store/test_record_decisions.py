"""``SqlStore.record_decisions``: a batch in one commit, each decision as ``record_decision``
would have stored it (group commit)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cardwatch.schema import Action
from cardwatch.store.base import Store
from cardwatch.store.records import Alert, Effects, Link, OutboxDraft

from .helpers import T0, decline, txn


@pytest.fixture
def sql(store: Store) -> Store:
    from cardwatch.store.sql import SqlStore

    if not isinstance(store, SqlStore):
        pytest.skip("record_decisions is the SQL store's")
    return store


def _effects(card_id: str) -> Effects:
    link = Link("it_was_me", card_id, {"merchant_id": "m_books"}, T0 + timedelta(days=1), T0)
    return Effects(
        outbox=[OutboxDraft("decline", card_id, {"text": "stopped"}, "cust1")],
        links=[link],
        alerts=[Alert(card_id, "decline", T0, txn_id="t1")],
    )


def _record(txn_id: str, card_id: str = "tok_card1", **extra: object) -> dict[str, object]:
    return {"decision": decline(txn_id), "txn": txn(txn_id, card_id), "now": T0, **extra}


def test_batch_is_stored_with_its_effects(sql) -> None:  # type: ignore[no-untyped-def]
    results = sql.record_decisions(
        [_record("t1", effects=_effects("tok_card1")), _record("t2", "tok_card2", iso_key="i2")]
    )
    assert all(not isinstance(r, BaseException) for r in results)
    assert [r.txn_id for r in results] == ["t1", "t2"]
    assert sql.find_decision_by_key("txn:t1") == results[0]
    assert sql.find_decision_by_key(iso_key="i2") == results[1]
    assert len(sql.outbox_messages()) == 1 and len(sql.alerts(card_id="tok_card1")) == 1


def test_keys_stored_already_or_twice_in_the_batch_get_the_first_decision(sql) -> None:  # type: ignore[no-untyped-def]
    first = sql.record_decision(decline("t1"), txn("t1"), now=T0)
    other = decline("t3")
    other.action, other.response_code = Action.APPROVE, "00"
    results = sql.record_decisions(
        [
            _record("t1"),
            _record("t2", idempotency_key="same"),
            {"decision": other, "txn": txn("t3"), "idempotency_key": "same", "now": T0},
        ]
    )
    assert results[0] == first
    assert results[1] == results[2] and results[2].txn_id == "t2"
    assert len(sql.decisions_for_card("tok_card1")) == 2


def test_a_failing_decision_fails_alone(sql) -> None:  # type: ignore[no-untyped-def]
    clash = Link("it_was_me", "tok_card1", {}, T0 + timedelta(days=1), T0)
    sql.create_link(clash)
    effects = _effects("tok_card1")
    effects.links.append(clash)
    results = sql.record_decisions([_record("t1", effects=effects), _record("t2")])
    assert isinstance(results[0], Exception)
    assert sql.find_decision_by_key("txn:t1") is None
    assert sql.find_decision_by_key("txn:t2") == results[1]
    assert sql.outbox_messages() == []
