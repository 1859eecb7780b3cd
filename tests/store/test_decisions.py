"""Decisions are durable, atomic with their effects, and idempotent even under a race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from cardwatch.schema import Action
from cardwatch.store.base import ConflictError, Store
from cardwatch.store.records import Alert, Effects, Link, OutboxDraft, iso_key

from .helpers import T0, decline, txn


def test_record_then_find(store: Store) -> None:
    stored = store.record_decision(decline(), txn(), "key-1", now=T0)
    assert stored.decision_id
    assert store.find_decision_by_key("key-1") == stored
    record = store.decision_record(stored.decision_id)
    assert record is not None
    assert record.decision == stored
    assert record.decision.action is Action.DECLINE
    assert record.decision.reasons[0].code == "amount_spike"
    assert (record.card_id, record.amount, record.currency) == ("tok_card1", 42.5, "EUR")
    assert record.timestamp == T0 and record.timestamp.tzinfo is not None
    assert record.merchant_name == "Corner Books"
    assert not record.reversed and not record.stand_in


def test_same_key_returns_first_decision(store: Store) -> None:
    first = store.record_decision(decline(), txn(), "key-1", now=T0)
    other = decline()
    other.action, other.response_code = Action.APPROVE, "00"
    again = store.record_decision(other, txn(), "key-1", now=T0 + timedelta(seconds=1))
    assert again == first
    assert len(store.decisions_for_card("tok_card1")) == 1


def test_default_key_is_the_txn_id(store: Store) -> None:
    first = store.record_decision(decline(), txn(), now=T0)
    assert store.record_decision(decline(), txn(), now=T0).decision_id == first.decision_id
    assert store.find_decision_by_key("txn:t1") == first


def test_iso_key_matches_a_retransmission(store: Store) -> None:
    key = iso_key("tok_card1", "000123", "412300000001", "0301120000")
    first = store.record_decision(decline(), txn(), "k-a", key, now=T0)
    again = store.record_decision(decline(), txn(), "k-b", key, now=T0)
    assert again == first
    assert store.find_decision_by_key(iso_key=key) == first
    assert store.find_decision_by_key() is None
    assert store.find_decision_by_key("nope") is None


def test_decision_id_given_by_caller_is_kept(store: Store) -> None:
    d = decline()
    d.decision_id = "dec_given"
    assert store.record_decision(d, txn(), now=T0).decision_id == "dec_given"


def test_stand_in_flag(store: Store) -> None:
    stored = store.record_decision(decline(), txn(), now=T0, stand_in=True)
    record = store.decision_record(stored.decision_id)
    assert record is not None and record.stand_in


def test_mark_reversed_once(store: Store) -> None:
    stored = store.record_decision(decline(), txn(), now=T0)
    assert store.mark_reversed(stored.decision_id, T0 + timedelta(minutes=1))
    assert not store.mark_reversed(stored.decision_id, T0 + timedelta(minutes=2))
    assert not store.mark_reversed("dec_unknown", T0)
    record = store.decision_record(stored.decision_id)
    assert record is not None and record.reversed_at == T0 + timedelta(minutes=1)


def test_decisions_for_card_newest_first(store: Store) -> None:
    for i in range(3):
        t = txn(f"t{i}")
        t.timestamp = T0 + timedelta(minutes=i)
        store.record_decision(decline(f"t{i}"), t, now=T0)
    assert [r.decision.txn_id for r in store.decisions_for_card("tok_card1")] == ["t2", "t1", "t0"]
    assert len(store.decisions_for_card("tok_card1", limit=2)) == 2
    assert store.decisions_for_card("tok_other") == []


def _effects(card_id: str = "tok_card1") -> Effects:
    link = Link("it_was_me", card_id, {"merchant_id": "m_books"}, T0 + timedelta(days=1), T0)
    return Effects(
        outbox=[OutboxDraft("decline", card_id, {"text": "stopped"}, "cust1")],
        links=[link],
        alerts=[Alert(card_id, "decline", T0, txn_id="t1")],
    )


def test_effects_written_once_with_the_decision(store: Store) -> None:
    effects = _effects()
    store.record_decision(decline(), txn(), now=T0, effects=effects)
    store.record_decision(decline(), txn(), now=T0, effects=_effects())
    assert len(store.outbox_messages()) == 1
    assert store.get_link(effects.links[0].link_id) is not None
    assert len(store.alerts(card_id="tok_card1")) == 1


def test_failed_effects_roll_back_the_decision(store: Store) -> None:
    clash = Link("it_was_me", "tok_card1", {}, T0 + timedelta(days=1), T0)
    store.create_link(clash)
    effects = _effects()
    effects.links.append(clash)
    with pytest.raises((ConflictError, Exception)):
        store.record_decision(decline(), txn(), now=T0, effects=effects)
    assert store.find_decision_by_key("txn:t1") is None
    assert store.outbox_messages() == []


def test_racing_duplicates_get_one_decision(store: Store) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        try:
            d = decline()
            d.score = i / 10
            barrier.wait()
            results.append(store.record_decision(d, txn(), "race-key", now=T0).decision_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(set(results)) == 1
    assert len(store.decisions_for_card("tok_card1")) == 1


def test_sql_store_settles_a_lost_race_on_the_unique_key(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-check saw nothing, the insert hit the unique key: the winner's answer comes back."""
    from cardwatch.store.sql import SqlStore

    if not isinstance(store, SqlStore):
        pytest.skip("about the SQL store's IntegrityError path")
    winner = store.record_decision(decline(), txn(), "key-1", now=T0)
    real = store.find_decision_by_key
    calls = iter([None])
    monkeypatch.setattr(
        store, "find_decision_by_key", lambda *a, **k: next(calls, None) or real(*a, **k)
    )
    assert store.record_decision(decline(), txn(), "key-1", now=T0) == winner


def test_recorded_decision_is_committed_for_other_connections(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Durable before the answer leaves: a second engine (another process) sees it at once."""
    from cardwatch.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'cw.db'}"
    writer = SqlStore.open(url)
    stored = writer.record_decision(decline(), txn(), "k", now=T0)
    reader = SqlStore.open(url, migrate=False)
    try:
        assert reader.find_decision_by_key("k") == stored
    finally:
        writer.close()
        reader.close()


def test_decided_transactions_keep_every_profile_field(store) -> None:  # type: ignore[no-untyped-def]
    """After a crash, profiles are rebuilt from these: nothing the profiles read may be lost."""
    from datetime import UTC, datetime, timedelta

    from cardwatch.schema import Action, Decision, Transaction

    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    txns = [
        Transaction(
            f"t{i}",
            t0 + timedelta(minutes=i),
            "tok_a",
            10.0 + i,
            "m1",
            "cust",
            "EUR",
            "5411",
            "Shop",
            "FR",
            48.85,
            2.35,
            "T1",
            "card_present",
            "chip",
        )
        for i in range(3)
    ]
    for t in reversed(txns):
        store.record_decision(Decision(t.txn_id, Action.APPROVE, "00", 0.1, []), t)
    got = store.decided_transactions()
    assert [t.txn_id for t in got] == ["t0", "t1", "t2"]
    assert got[1] == txns[1]
    assert [t.txn_id for t in store.decided_transactions(after=txns[0].timestamp)] == ["t1", "t2"]
    store.mark_reversed(decision_id_of(store, "t1"), txns[2].timestamp)
    assert [t.txn_id for t in store.decided_transactions()] == ["t0", "t2"]  # reversed: gone


def decision_id_of(store, txn_id: str) -> str:  # type: ignore[no-untyped-def]
    return store.find_decision_by_key(idempotency_key=f"txn:{txn_id}").decision_id
