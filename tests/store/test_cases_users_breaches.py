"""Alerts, cases, users, audit, breaches and exposures: basic CRUD on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cardwatch.store.base import ConflictError, Store
from cardwatch.store.records import (
    Alert,
    AuditEntry,
    Breach,
    Case,
    CaseEvent,
    Exposure,
    User,
)

from .helpers import T0


def test_alerts(store: Store) -> None:
    a = store.add_alert(
        Alert(
            "tok_card1",
            "review",
            T0,
            decision_id="d1",
            score=0.7,
            reasons=[{"code": "x", "message": "y"}],
        )
    )
    store.add_alert(Alert("tok_card2", "review", T0 + timedelta(seconds=1)))
    assert [x.alert_id for x in store.alerts(card_id="tok_card1")] == [a.alert_id]
    assert store.alerts(card_id="tok_card1")[0].reasons == [{"code": "x", "message": "y"}]
    assert store.set_alert_status(a.alert_id, "closed", case_id="case_1")
    assert not store.set_alert_status("alr_unknown", "closed")
    assert len(store.alerts(status="open")) == 1
    (closed,) = store.alerts(status="closed")
    assert closed.case_id == "case_1"


def test_cases_and_events(store: Store) -> None:
    low = store.open_case(Case("card_review", T0, card_id="tok_card1", priority=10))
    high = store.open_case(
        Case("not_me", T0 + timedelta(hours=1), card_id="tok_card1", priority=90)
    )
    assert [c.case_id for c in store.cases()] == [high.case_id, low.case_id]
    assert store.get_case(low.case_id) == low
    assert store.get_case("case_unknown") is None
    event = store.add_case_event(CaseEvent(high.case_id, T0, "ana", "note", {"text": "called"}))
    assert event.event_id is not None
    store.add_case_event(CaseEvent(high.case_id, T0, "ana", "verdict", {}))
    assert [e.kind for e in store.case_events(high.case_id)] == ["note", "verdict"]
    assert store.case_events(high.case_id)[0].details == {"text": "called"}
    with pytest.raises(ConflictError):
        store.add_case_event(CaseEvent("case_unknown", T0, "ana", "note"))
    assert store.close_case(high.case_id, T0 + timedelta(days=1), "fraud")
    assert not store.close_case(high.case_id, T0 + timedelta(days=2), "fraud")
    closed = store.get_case(high.case_id)
    assert closed is not None and (closed.status, closed.verdict) == ("closed", "fraud")
    assert [c.case_id for c in store.cases(status="open")] == [low.case_id]
    assert store.cases(card_id="tok_other") == []


def test_users(store: Store) -> None:
    store.add_user(User("ana", "$argon2id$...", "analyst", T0))
    with pytest.raises(ConflictError):
        store.add_user(User("ana", "other", "admin", T0))
    user = store.get_user("ana")
    assert user is not None and user.role == "analyst"
    assert store.get_user("bob") is None


def test_audit_is_in_written_order(store: Store) -> None:
    for i in range(3):
        store.append_audit(
            AuditEntry("ana", "view_card", f"tok_card{i % 2}", T0 + timedelta(i), {"i": i})
        )
    entries = store.audit_entries()
    assert [e.details["i"] for e in entries] == [0, 1, 2]
    assert [e.details["i"] for e in store.audit_entries(target="tok_card0")] == [0, 2]
    assert [e.details["i"] for e in store.audit_entries(since=T0 + timedelta(1))] == [1, 2]
    assert entries[0].entry_id is not None


def test_breaches_and_exposures(store: Store) -> None:
    b = store.add_breach(
        Breach("m_tills", T0 - timedelta(days=20), T0, 0.91, T0, evidence={"fraud_cards": 12})
    )
    store.add_breach(Breach("m_other", T0, T0, 0.2, T0))
    assert [x.merchant_id for x in store.breaches()] == ["m_tills", "m_other"]
    assert store.get_breach(b.breach_id) == b
    assert store.set_breach_status(b.breach_id, "confirmed")
    assert [x.breach_id for x in store.breaches(status="confirmed")] == [b.breach_id]
    n = store.add_exposures(
        Exposure(b.breach_id, f"tok_{i}", risk=1 - i / 10, rank=i + 1, customer_id=f"c{i}")
        for i in range(5)
    )
    assert n == 5
    assert [e.rank for e in store.exposures(b.breach_id)] == [1, 2, 3, 4, 5]
    assert [e.card_id for e in store.exposures(b.breach_id, limit=2, offset=1)] == [
        "tok_1",
        "tok_2",
    ]
    assert store.exposures_of_card("tok_3") == [Exposure(b.breach_id, "tok_3", 0.7, 4, "c3")]
    with pytest.raises(ConflictError):
        store.add_exposures([Exposure(b.breach_id, "tok_3", 0.1, 9)])
    assert store.add_exposures([]) == 0
