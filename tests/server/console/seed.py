"""Seed data for the console tests, written through the store's public API only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from cardwatch.schema import Action, Decision, Reason, Transaction
from cardwatch.store.base import Store
from cardwatch.store.records import Alert, Breach, Effects, Exposure, User

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
USERS = {"ana": "analyst", "sam": "supervisor", "sue": "supervisor", "ada": "admin"}
# Cheap Argon2id parameters keep the suite fast; verification reads them from the hash itself.
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass
class Seeded:
    victim_card: str
    plain_card: str
    victim_alert: str
    plain_alert: str
    breach_id: str
    exposed_cards: list[str]


def add_users(store: Store) -> None:
    for name, role in USERS.items():
        store.add_user(User(name, _HASH, role, T0))


def _decide(
    store: Store,
    txn_id: str,
    card: str,
    at: datetime,
    action: Action,
    score: float,
    merchant: str = "m_shop",
    amount: float = 42.0,
    alert: bool = False,
) -> str | None:
    reasons = [Reason("amount_spike", "Amount far above this card's usual spend")] if alert else []
    decision = Decision(txn_id, action, "59" if action == Action.DECLINE else "00", score, reasons)
    txn = Transaction(
        txn_id,
        at,
        card,
        amount,
        merchant,
        customer_id=f"cust_{card[-4:]}",
        merchant_name=merchant.replace("m_", "").title(),
    )
    effects = Effects()
    if alert:
        effects.alerts.append(
            Alert(
                card,
                "review",
                at,
                txn_id=txn_id,
                score=score,
                reasons=[{"code": r.code, "message": r.message} for r in reasons],
            )
        )
    store.record_decision(decision, txn, now=at, effects=effects)
    if alert:
        return next(a.alert_id for a in store.alerts(card_id=card) if a.txn_id == txn_id)
    return None


def seed_world(store: Store, now: datetime = T0) -> Seeded:
    """Two cards with an open alert each (one exposed at a breach), some history, a breach with
    twelve exposed cards."""
    victim, plain = "tok_victim0000000000000000000001", "card_plain_0002"
    exposed = [victim] + [f"card_exposed_{i:04d}" for i in range(11)]
    for i in range(6):
        _decide(store, f"v{i}", victim, now - timedelta(days=6 - i), Action.APPROVE, 0.05)
        _decide(store, f"p{i}", plain, now - timedelta(days=6 - i), Action.APPROVE, 0.04)
    _decide(store, "d1", plain, now - timedelta(days=2), Action.DECLINE, 0.93, "m_gadgets", 910.0)
    victim_alert = _decide(
        store,
        "v_alert",
        victim,
        now - timedelta(hours=2),
        Action.CHALLENGE,
        0.40,
        "m_far_away",
        680.0,
        alert=True,
    )
    plain_alert = _decide(
        store,
        "p_alert",
        plain,
        now - timedelta(hours=3),
        Action.CHALLENGE,
        0.97,
        "m_gadgets",
        1200.0,
        alert=True,
    )
    breach = store.add_breach(
        Breach(
            merchant_id="m_corner_store",
            window_start=now - timedelta(days=30),
            window_end=now - timedelta(days=12),
            score=11.4,
            detected_at=now - timedelta(days=1),
            evidence={
                "fraud_cards": 5,
                "exposed_cards": len(exposed),
                "level": "store",
                "merchant_ids": ["m_corner_store"],
                "terminal_ids": ["t1", "t2"],
                "p_value": 4e-12,
                "expected_fraud_cards": 0.3,
                "places_tested": 900,
                "first_fraud_at": (now - timedelta(days=8)).isoformat(),
                "fraud_card_ids": exposed[1:6],
            },
        )
    )
    store.add_exposures(
        Exposure(breach.breach_id, card, round(1 - i / 20, 3), i + 1, f"cust_{i}")
        for i, card in enumerate(exposed)
    )
    assert victim_alert and plain_alert
    return Seeded(victim, plain, victim_alert, plain_alert, breach.breach_id, exposed)


def synthetic_columns(ws: object, in_force: object, n: int = 400) -> dict[str, object]:
    """Replayed columns for rule backtests: every known attribute, a score that separates the
    frauds, and bursts of payments on a few fraud cards (what ``burst_of_payments`` looks for)."""
    import numpy as np

    from cardwatch.rules import KNOWN_ATTRIBUTES

    rng = np.random.default_rng(7)
    fraud = (rng.random(n) < 0.08).astype(float)
    cols: dict[str, object] = {}
    for name, kind in KNOWN_ATTRIBUTES.items():
        if kind == "number":  # 0/1 flags make every rule's condition reachable
            cols[name] = rng.integers(0, 2, n).astype(float)
        else:
            cols[name] = np.array(["x"] * n, dtype=object)
    cols["score"] = np.where(fraud == 1, 0.6 + 0.4 * rng.random(n), 0.55 * rng.random(n))
    cols["amount"] = np.round(20 + 200 * rng.random(n) + 600 * fraud, 2)
    cols["card_amount_mean_30d"] = np.full(n, 60.0)
    cols["card_txn_count_1h"] = np.where(fraud == 1, 6.0, rng.integers(0, 3, n).astype(float))
    cols["is_fraud"] = fraud
    cols["card_id"] = np.array([f"c{i % 120}" for i in range(n)], dtype=object)
    return cols


def seed_history(ws: object, world: Seeded, now: datetime = T0) -> None:
    """Parquet history for the breach: every exposed card paid at the corner store inside the
    window; five of them were defrauded afterwards and reported a few days later."""
    import pyarrow as pa

    from cardwatch.schema import HISTORY_SCHEMA
    from cardwatch.store.history import History

    rows: list[dict[str, object]] = []
    for i, card in enumerate(world.exposed_cards):
        rows.append(
            {
                "txn_id": f"h_visit_{i}",
                "timestamp": now - timedelta(days=28 - i),
                "card_id": card,
                "amount": 23.5 + i,
                "merchant_id": "m_corner_store",
                "merchant_name": "Corner Store",
                "is_fraud": 0,
            }
        )
        if 1 <= i <= 5:
            fraud_at = now - timedelta(days=9 - i, hours=3)
            rows.append(
                {
                    "txn_id": f"h_fraud_{i}",
                    "timestamp": fraud_at,
                    "card_id": card,
                    "amount": 480.0 + 35 * i,
                    "merchant_id": f"m_far_{i}",
                    "merchant_name": "Electronics abroad",
                    "is_fraud": 1,
                    "fraud_reported_at": fraud_at + timedelta(days=2),
                }
            )
    columns = {name: [r.get(name) for r in rows] for name in HISTORY_SCHEMA.names}
    History(ws).append(pa.table(columns, schema=HISTORY_SCHEMA))  # type: ignore[arg-type]


def seed_activity(store: Store, days: int = 14, per_day: int = 14, now: datetime = T0) -> None:
    """A fortnight of decided authorisations with some labels, notices and self-unblocks, so
    the dashboard and the model page have something to draw."""
    import random

    from cardwatch.store.records import Label, Link, OutboxDraft

    rng = random.Random(11)
    for day in range(days):
        for k in range(per_day):
            at = now - timedelta(days=days - day, hours=rng.randint(0, 20), minutes=k)
            fraud = rng.random() < 0.12
            score = min(1.0, max(0.0, rng.gauss(0.85 if fraud else 0.2, 0.22)))
            action = (
                Action.DECLINE
                if score > 0.9
                else Action.CHALLENGE
                if score > 0.7
                else Action.APPROVE
            )
            card = f"card_{rng.randint(0, 60):04d}"
            txn_id = f"a{day}_{k}"
            _decide(
                store,
                txn_id,
                card,
                at,
                action,
                round(score, 3),
                f"m_{rng.randint(0, 30)}",
                round(rng.uniform(5, 300), 2),
            )
            if fraud or rng.random() < 0.3:
                store.add_label(Label(txn_id, card, fraud, at + timedelta(days=2), "chargeback"))
            if action != Action.APPROVE:
                store.enqueue([OutboxDraft(f"{action}_notice", card, {})], at)
                if not fraud and rng.random() < 0.7:
                    decision = store.find_decision_by_key(f"txn:{txn_id}")
                    assert decision is not None
                    link = Link(
                        "unblock",
                        card,
                        {"decision_id": decision.decision_id},
                        at + timedelta(days=1),
                        at,
                    )
                    store.create_link(link)
                    store.consume_link(link.link_id, at + timedelta(seconds=rng.randint(20, 400)))
