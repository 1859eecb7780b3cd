"""Read-only questions the console asks that the ``Store`` protocol does not (yet) answer:
listing users, the newest audit lines, a card's labels and links, and the dashboard's daily
counts.

They are SQL over the store's own tables when the store is an ``SqlStore`` (it exposes
``engine``), and fall back to what the protocol offers (or to nothing) for other stores, so a page
shows "nothing yet" rather than failing. Candidates to move into the store proper.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from cardwatch.store import tables as t
from cardwatch.store.base import Store
from cardwatch.store.records import Alert, AuditEntry, Label, Link, User

__all__ = [
    "DailyCounts",
    "daily_counts",
    "find_alert",
    "labelled_scores",
    "labels_of_card",
    "links_of_card",
    "list_users",
    "recent_audit",
    "set_user_role",
    "unblock_delays",
]


def _engine(store: Store) -> Engine | None:
    engine = getattr(store, "engine", None)
    return engine if isinstance(engine, Engine) else None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def list_users(store: Store) -> list[User]:
    engine = _engine(store)
    if engine is None:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(t.users).order_by(t.users.c.username)).mappings().all()
    return [
        User(r["username"], r["password_hash"], r["role"], _aware(r["created_at"])) for r in rows
    ]


def set_user_role(store: Store, username: str, role: str) -> bool:
    """Change a user's role; False when the user does not exist or the store cannot."""
    engine = _engine(store)
    if engine is None:
        return False
    with engine.begin() as conn:
        result = conn.execute(
            update(t.users).where(t.users.c.username == username).values(role=role)
        )
    return bool(result.rowcount)


def recent_audit(
    store: Store, limit: int = 200, who: str | None = None, target: str | None = None
) -> list[AuditEntry]:
    """The newest audit lines first (the store's own listing is oldest first)."""
    engine = _engine(store)
    if engine is None:
        entries = store.audit_entries(target=target, limit=100_000)
        if who:
            entries = [e for e in entries if e.who == who]
        return list(reversed(entries))[:limit]
    c = t.audit.c
    query = select(t.audit).order_by(c.entry_id.desc()).limit(limit)
    if who:
        query = query.where(c.who == who)
    if target:
        query = query.where(c.target == target)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        AuditEntry(r["who"], r["action"], r["target"], _aware(r["at"]), r["details"], r["entry_id"])
        for r in rows
    ]


def labels_of_card(store: Store, card_id: str, now: datetime) -> list[Label]:
    engine = _engine(store)
    if engine is None:
        return [label for label in store.labels_known_at(now) if label.card_id == card_id]
    c = t.labels.c
    query = select(t.labels).where(c.card_id == card_id).order_by(c.label_id)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Label(r["txn_id"], r["card_id"], bool(r["is_fraud"]), _aware(r["reported_at"]), r["source"])
        for r in rows
    ]


def links_of_card(store: Store, card_id: str) -> list[Link]:
    engine = _engine(store)
    if engine is None:
        return []
    c = t.links.c
    with engine.connect() as conn:
        rows = (
            conn.execute(select(t.links).where(c.card_id == card_id).order_by(c.created_at))
            .mappings()
            .all()
        )
    return [
        Link(
            kind=r["kind"],
            card_id=r["card_id"],
            scope=r["scope"],
            expires_at=_aware(r["expires_at"]),
            created_at=_aware(r["created_at"]),
            link_id=r["link_id"],
            used_at=_aware(r["used_at"]) if r["used_at"] else None,
        )
        for r in rows
    ]


@dataclass
class DailyCounts:
    """Per-day counts for the dashboard; every mapping is keyed by day."""

    days: list[date]
    actions: dict[str, dict[date, int]]
    fraud_labels: dict[date, int]
    legit_labels: dict[date, int]
    notices: dict[date, int]
    caught: int
    missed: int
    honest_declined: int
    honest_declined_cards: int
    notices_by_kind: dict[str, int]


def daily_counts(store: Store, since: datetime | None = None) -> DailyCounts | None:
    """Decisions by action and day, labels by day, notices by day, and how decisions fared once
    labels arrived: fraud caught (declined or challenged), fraud missed (approved), honest
    cardholders declined. None when the store cannot be asked."""
    engine = _engine(store)
    if engine is None:
        return None
    d, lab, out = t.decisions.c, t.labels.c, t.outbox.c
    actions: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    fraud: dict[date, int] = defaultdict(int)
    legit: dict[date, int] = defaultdict(int)
    notices: dict[date, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        q = select(d.timestamp, d.action)
        if since is not None:
            q = q.where(d.timestamp >= since)
        for ts, action in conn.execute(q):
            actions[action][ts.date()] += 1
        for reported, is_fraud in conn.execute(select(lab.reported_at, lab.is_fraud)):
            (fraud if is_fraud else legit)[reported.date()] += 1
        for created, kind in conn.execute(select(out.created_at, out.kind)):
            notices[created.date()] += 1
            by_kind[kind] += 1
        # The latest label of each labelled transaction, joined to its decision.
        latest = (
            select(lab.txn_id, func.max(lab.label_id).label("label_id"))
            .group_by(lab.txn_id)
            .subquery()
        )
        joined = select(d.action, d.card_id, lab.is_fraud).select_from(
            t.decisions.join(latest, latest.c.txn_id == d.txn_id).join(
                t.labels, t.labels.c.label_id == latest.c.label_id
            )
        )
        outcome: list[Any] = list(conn.execute(joined))
    caught = sum(1 for a, _, f in outcome if f and a in ("decline", "challenge"))
    missed = sum(1 for a, _, f in outcome if f and a in ("approve", "review"))
    honest = [(a, c) for a, c, f in outcome if not f and a == "decline"]
    days = sorted(
        {day for per in actions.values() for day in per} | set(fraud) | set(legit) | set(notices)
    )
    return DailyCounts(
        days=days,
        actions={k: dict(v) for k, v in actions.items()},
        fraud_labels=dict(fraud),
        legit_labels=dict(legit),
        notices=dict(notices),
        caught=caught,
        missed=missed,
        honest_declined=len(honest),
        honest_declined_cards=len({c for _, c in honest}),
        notices_by_kind=dict(by_kind),
    )


def unblock_delays(store: Store) -> list[float]:
    """Seconds from each declined or challenged authorisation to the cardholder's own unblock
    (a used self-service link that names the decision)."""
    engine = _engine(store)
    if engine is None:
        return []
    d, lk = t.decisions.c, t.links.c
    with engine.connect() as conn:
        links = conn.execute(select(lk.scope, lk.used_at).where(lk.used_at.is_not(None))).all()
        wanted = {
            str(scope.get("decision_id")): used
            for scope, used in links
            if isinstance(scope, dict) and scope.get("decision_id")
        }
        if not wanted:
            return []
        rows = conn.execute(
            select(d.decision_id, d.timestamp).where(d.decision_id.in_(list(wanted)))
        ).all()
    return [max(0.0, (_aware(wanted[i]) - _aware(ts)).total_seconds()) for i, ts in rows]


def find_alert(store: Store, alert_id: str) -> Alert | None:
    engine = _engine(store)
    if engine is None:
        return next((a for a in store.alerts(limit=100_000) if a.alert_id == alert_id), None)
    with engine.connect() as conn:
        row = (
            conn.execute(select(t.alerts).where(t.alerts.c.alert_id == alert_id)).mappings().first()
        )
    if row is None:
        return None
    return Alert(
        card_id=row["card_id"],
        kind=row["kind"],
        created_at=_aware(row["created_at"]),
        decision_id=row["decision_id"],
        txn_id=row["txn_id"],
        score=row["score"],
        reasons=row["reasons"],
        status=row["status"],
        case_id=row["case_id"],
        alert_id=row["alert_id"],
    )


def labelled_scores(store: Store) -> tuple[list[float], list[int], list[str]]:
    """Scores of decided authorisations whose label has arrived (the latest label wins), with
    the labels and cards: the live evidence of how the model ranks."""
    engine = _engine(store)
    if engine is None:
        return [], [], []
    d, lab = t.decisions.c, t.labels.c
    latest = (
        select(lab.txn_id, func.max(lab.label_id).label("label_id")).group_by(lab.txn_id).subquery()
    )
    query = select(d.score, t.labels.c.is_fraud, d.card_id).select_from(
        t.decisions.join(latest, latest.c.txn_id == d.txn_id).join(
            t.labels, t.labels.c.label_id == latest.c.label_id
        )
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [float(s) for s, _, _ in rows], [int(f) for _, f, _ in rows], [c for _, _, c in rows]
