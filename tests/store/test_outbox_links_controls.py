"""Outbox claims, links used once, controls revoked in event time: on every backend."""

from __future__ import annotations

import threading
from datetime import timedelta

from cardwatch.store.base import Store
from cardwatch.store.records import Control, Label, Link, OutboxDraft

from .helpers import T0


def _draft(n: int = 0) -> OutboxDraft:
    return OutboxDraft("decline", "tok_card1", {"n": n}, "cust1", channel="webhook")


def test_enqueue_and_claim_due(store: Store) -> None:
    ids = store.enqueue([_draft(0), _draft(1)], T0)
    assert len(ids) == 2 and ids[0] != ids[1]
    claimed = store.claim_due(T0, lease=timedelta(seconds=30))
    assert [m.payload["n"] for m in claimed] == [0, 1]
    assert all(m.attempts == 1 and m.channel == "webhook" for m in claimed)
    # Hidden while leased, due again when the lease runs out.
    assert store.claim_due(T0 + timedelta(seconds=29)) == []
    again = store.claim_due(T0 + timedelta(seconds=30))
    assert [m.attempts for m in again] == [2, 2]


def test_not_due_before_its_time(store: Store) -> None:
    store.enqueue([_draft()], T0)
    assert store.claim_due(T0 - timedelta(seconds=1)) == []
    assert len(store.claim_due(T0, limit=5)) == 1


def test_claim_limit(store: Store) -> None:
    store.enqueue([_draft(i) for i in range(5)], T0)
    assert len(store.claim_due(T0, limit=3)) == 3
    assert len(store.claim_due(T0, limit=3)) == 2


def test_sent_failed_dead(store: Store) -> None:
    a, b, c = store.enqueue([_draft(0), _draft(1), _draft(2)], T0)
    store.claim_due(T0)
    store.mark_sent(a, T0 + timedelta(seconds=1))
    store.mark_failed(b, "HTTP 503", T0 + timedelta(minutes=5))
    store.mark_failed(c, "HTTP 410", None)
    sent = store.outbox_messages(status="sent")
    assert [m.id for m in sent] == [a] and sent[0].sent_at == T0 + timedelta(seconds=1)
    dead = store.outbox_messages(status="dead")
    assert [(m.id, m.last_error) for m in dead] == [(c, "HTTP 410")]
    assert store.claim_due(T0 + timedelta(minutes=4)) == []
    retry = store.claim_due(T0 + timedelta(minutes=5))
    assert [(m.id, m.attempts, m.last_error) for m in retry] == [(b, 2, "HTTP 503")]
    assert store.outbox_messages(card_id="tok_other") == []


def test_concurrent_claimers_never_share_a_message(store: Store) -> None:
    store.enqueue([_draft(i) for i in range(40)], T0)
    got: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while batch := store.claim_due(T0, limit=3):
            with lock:
                got.extend(m.id for m in batch)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(got) == sorted(set(got)) and len(got) == 40


def test_enqueue_with_links(store: Store) -> None:
    link = Link("breach_check", "tok_card1", {"breach_id": "b1"}, T0 + timedelta(days=30), T0)
    store.enqueue([_draft()], T0, links=[link])
    assert store.get_link(link.link_id) == link


def test_link_is_used_once_and_expires(store: Store) -> None:
    link = Link("not_me", "tok_card1", {"decision_id": "d1"}, T0 + timedelta(hours=1), T0)
    store.create_link(link)
    assert store.get_link("lnk_unknown") is None
    used = store.consume_link(link.link_id, T0 + timedelta(minutes=5))
    assert used is not None and used.used_at == T0 + timedelta(minutes=5)
    assert store.consume_link(link.link_id, T0 + timedelta(minutes=6)) is None
    late = Link("not_me", "tok_card1", {}, T0 + timedelta(hours=1), T0)
    store.create_link(late)
    assert store.consume_link(late.link_id, T0 + timedelta(hours=1)) is None
    assert store.consume_link("lnk_unknown", T0) is None


def test_link_consumed_by_one_of_many(store: Store) -> None:
    link = Link("it_was_me", "tok_card1", {}, T0 + timedelta(hours=1), T0)
    store.create_link(link)
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def use() -> None:
        barrier.wait()
        wins.append(store.consume_link(link.link_id, T0) is not None)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_controls_add_list_revoke(store: Store) -> None:
    freeze = Control("tok_card1", "freeze", {}, T0, T0)
    travel = Control(
        "tok_card1", "travel", {"countries": ["US"]}, T0, T0, valid_to=T0 + timedelta(days=7)
    )
    store.add_control(freeze)
    store.add_control(travel)
    store.add_control(Control("tok_card2", "freeze", {}, T0, T0))
    mine = store.controls_of("tok_card1")
    assert {c.control_id for c in mine} == {freeze.control_id, travel.control_id}
    assert store.revoke_control(freeze.control_id, T0 + timedelta(hours=2))
    assert not store.revoke_control(freeze.control_id, T0 + timedelta(hours=3))
    (revoked,) = [c for c in store.controls_of("tok_card1") if c.kind == "freeze"]
    assert revoked.revoked_at == T0 + timedelta(hours=2)
    assert revoked.active_at(T0 + timedelta(hours=1))
    assert not revoked.active_at(T0 + timedelta(hours=2))
    (kept,) = [c for c in store.controls_of("tok_card1") if c.kind == "travel"]
    assert kept.value == {"countries": ["US"]} and kept.valid_to == T0 + timedelta(days=7)


def test_labels_known_at(store: Store) -> None:
    store.add_label(Label("t2", "tok_card1", True, T0 + timedelta(days=2), "chargeback"))
    store.add_label(Label("t1", "tok_card1", False, T0 + timedelta(days=1), "cardholder"))
    assert store.labels_known_at(T0) == []
    assert [x.txn_id for x in store.labels_known_at(T0 + timedelta(days=1))] == ["t1"]
    known = store.labels_known_at(T0 + timedelta(days=3))
    assert [(x.txn_id, x.is_fraud) for x in known] == [("t1", False), ("t2", True)]
