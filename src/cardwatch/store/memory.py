"""``MemoryStore``: the operational store in dicts, for the core's tests and one-off runs.

Same behaviour as ``SqlStore`` (one conformance suite runs on both), held in one process: a lock
makes each method atomic, and records are copied in and out so that a caller mutating what it got
back cannot change what is stored, as with a database.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cardwatch.schema import Decision, Transaction
from cardwatch.store.base import (
    DEFAULT_LEASE,
    TXN_EXTRAS,
    ConflictError,
    default_idempotency_key,
)
from cardwatch.store.records import (
    Alert,
    AuditEntry,
    Breach,
    Case,
    CaseEvent,
    Control,
    DecisionRecord,
    Effects,
    Exposure,
    JobRun,
    Label,
    Link,
    OutboxDraft,
    OutboxMessage,
    User,
    new_id,
)

__all__ = ["MemoryStore"]

T = TypeVar("T")


def _copy(value: T) -> T:
    return copy.deepcopy(value)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class MemoryStore:
    """The ``Store`` interface over Python containers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._decisions: dict[str, DecisionRecord] = {}
        self._txns: dict[str, Transaction] = {}
        self._by_key: dict[str, str] = {}
        self._by_iso: dict[str, str] = {}
        self._labels: list[Label] = []
        self._outbox: dict[int, OutboxMessage] = {}
        self._links: dict[str, Link] = {}
        self._controls: dict[str, Control] = {}
        self._alerts: dict[str, Alert] = {}
        self._cases: dict[str, Case] = {}
        self._events: list[CaseEvent] = []
        self._users: dict[str, User] = {}
        self._audit: list[AuditEntry] = []
        self._breaches: dict[str, Breach] = {}
        self._exposures: dict[tuple[str, str], Exposure] = {}
        self._job_runs: list[JobRun] = []

    def close(self) -> None:
        """Nothing to release; here so that code can close any store."""

    # -- decisions ------------------------------------------------------------------------------

    def record_decision(
        self,
        decision: Decision,
        txn: Transaction,
        idempotency_key: str | None = None,
        iso_key: str | None = None,
        *,
        now: datetime | None = None,
        stand_in: bool = False,
        effects: Effects | None = None,
    ) -> Decision:
        key = idempotency_key or default_idempotency_key(txn.txn_id)
        with self._lock:
            existing = self.find_decision_by_key(key, iso_key)
            if existing is not None:
                return existing
            if effects is not None and any(x.link_id in self._links for x in effects.links):
                raise ConflictError("link already exists")
            stored = dataclasses.replace(
                decision,
                reasons=list(decision.reasons),
                decision_id=decision.decision_id or new_id("dec"),
            )
            created = _utc(now or datetime.now(UTC))
            self._decisions[stored.decision_id] = DecisionRecord(
                decision=_copy(stored),
                card_id=txn.card_id,
                customer_id=txn.customer_id,
                merchant_id=txn.merchant_id,
                merchant_name=txn.merchant_name,
                amount=float(txn.amount),
                currency=txn.currency,
                timestamp=_utc(txn.timestamp),
                idempotency_key=key,
                iso_key=iso_key,
                stand_in=stand_in,
                created_at=created,
                extras={name: getattr(txn, name) for name in TXN_EXTRAS},
            )
            self._by_key[key] = stored.decision_id
            self._txns[stored.decision_id] = dataclasses.replace(txn, timestamp=_utc(txn.timestamp))
            if iso_key is not None:
                self._by_iso[iso_key] = stored.decision_id
            if effects is not None:
                for link in effects.links:
                    self.create_link(link)
                self.enqueue(effects.outbox, created)
                for alert in effects.alerts:
                    self.add_alert(alert)
            return stored

    def decided_transactions(self, after: datetime | None = None) -> list[Transaction]:
        return [txn for txn, _, _ in self.decided_answers(after)]

    def decided_answers(self, after: datetime | None = None) -> list[tuple[Transaction, str, str]]:
        with self._lock:
            found = [
                (t, self._decisions[d].decision)
                for d, t in self._txns.items()
                if (after is None or t.timestamp > _utc(after)) and not self._decisions[d].reversed
            ]
        found.sort(key=lambda f: (f[0].timestamp, f[0].txn_id))
        return [(t, d.action.value, d.response_code) for t, d in found]

    def decision_keys(self) -> list[tuple[str, str | None]]:
        """The idempotency and ISO keys of every stored decision (see ``SqlStore``)."""
        with self._lock:
            iso_of = {d: k for k, d in self._by_iso.items()}
            return [(k, iso_of.get(d)) for k, d in self._by_key.items()]

    def find_decision_by_key(
        self, idempotency_key: str | None = None, iso_key: str | None = None
    ) -> Decision | None:
        with self._lock:
            found = self._by_key.get(idempotency_key or "") or self._by_iso.get(iso_key or "")
            return _copy(self._decisions[found].decision) if found else None

    def decision_record(self, decision_id: str) -> DecisionRecord | None:
        with self._lock:
            return _copy(self._decisions.get(decision_id))

    def decisions_for_card(self, card_id: str, limit: int = 50) -> list[DecisionRecord]:
        with self._lock:
            mine = [r for r in self._decisions.values() if r.card_id == card_id]
            mine.sort(key=lambda r: (r.timestamp, r.created_at), reverse=True)
            return _copy(mine[:limit])

    def mark_reversed(self, decision_id: str, at: datetime) -> bool:
        with self._lock:
            record = self._decisions.get(decision_id)
            if record is None or record.reversed_at is not None:
                return False
            record.reversed_at = _utc(at)
            return True

    # -- labels ---------------------------------------------------------------------------------

    def add_label(self, label: Label) -> None:
        with self._lock:
            self._labels.append(dataclasses.replace(label, reported_at=_utc(label.reported_at)))

    def labels_known_at(self, at: datetime) -> list[Label]:
        with self._lock:
            known = [(i, x) for i, x in enumerate(self._labels) if x.reported_at <= _utc(at)]
            return [x for _, x in sorted(known, key=lambda p: (p[1].reported_at, p[0]))]

    # -- outbox ---------------------------------------------------------------------------------

    def enqueue(
        self, drafts: Sequence[OutboxDraft], now: datetime, links: Iterable[Link] = ()
    ) -> list[int]:
        with self._lock:
            for link in links:
                self.create_link(link)
            ids = []
            for draft in drafts:
                message_id = len(self._outbox) + 1
                self._outbox[message_id] = OutboxMessage(
                    id=message_id,
                    kind=draft.kind,
                    card_id=draft.card_id,
                    customer_id=draft.customer_id,
                    payload=_copy(draft.payload),
                    channel=draft.channel,
                    status="pending",
                    attempts=0,
                    next_attempt_at=_utc(now),
                    created_at=_utc(now),
                )
                ids.append(message_id)
            return ids

    def claim_due(
        self, now: datetime, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        with self._lock:
            due = [
                m
                for m in self._outbox.values()
                if m.status == "pending" and m.next_attempt_at <= _utc(now)
            ]
            due.sort(key=lambda m: (m.next_attempt_at, m.id))
            for m in due[:limit]:
                m.attempts += 1
                m.next_attempt_at = _utc(now) + lease
            return _copy(due[:limit])

    def mark_sent(self, message_id: int, at: datetime) -> None:
        with self._lock:
            m = self._outbox[message_id]
            m.status, m.sent_at, m.last_error = "sent", _utc(at), None

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        with self._lock:
            m = self._outbox[message_id]
            m.last_error = error[:2000]
            if retry_at is None:
                m.status = "dead"
            else:
                m.next_attempt_at = _utc(retry_at)

    def outbox_messages(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]:
        with self._lock:
            found = [
                m
                for m in self._outbox.values()
                if (status is None or m.status == status)
                and (card_id is None or m.card_id == card_id)
            ]
            return _copy(found[:limit])

    # -- links ----------------------------------------------------------------------------------

    def create_link(self, link: Link) -> None:
        with self._lock:
            if link.link_id in self._links:
                raise ConflictError(f"link {link.link_id} exists")
            self._links[link.link_id] = _copy(link)

    def get_link(self, link_id: str) -> Link | None:
        with self._lock:
            return _copy(self._links.get(link_id))

    def consume_link(self, link_id: str, at: datetime) -> Link | None:
        with self._lock:
            link = self._links.get(link_id)
            if link is None or link.used_at is not None or link.expires_at <= _utc(at):
                return None
            link.used_at = _utc(at)
            return _copy(link)

    # -- controls -------------------------------------------------------------------------------

    def add_control(self, control: Control) -> Control:
        with self._lock:
            self._controls[control.control_id] = _copy(control)
            return control

    def revoke_control(self, control_id: str, at: datetime) -> bool:
        with self._lock:
            control = self._controls.get(control_id)
            if control is None or control.revoked_at is not None:
                return False
            control.revoked_at = _utc(at)
            return True

    def cards_with_controls(self) -> set[str]:
        with self._lock:
            return {c.card_id for c in self._controls.values() if c.revoked_at is None}

    def controls_of(self, card_id: str) -> list[Control]:
        with self._lock:
            mine = [c for c in self._controls.values() if c.card_id == card_id]
            return _copy(sorted(mine, key=lambda c: (c.created_at, c.control_id)))

    # -- alerts and cases -----------------------------------------------------------------------

    def add_alert(self, alert: Alert) -> Alert:
        with self._lock:
            self._alerts[alert.alert_id] = _copy(alert)
            return alert

    def alerts(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Alert]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if (status is None or a.status == status)
                and (card_id is None or a.card_id == card_id)
            ]
            found.sort(key=lambda a: (a.created_at, a.alert_id))
            return _copy(found[:limit])

    def set_alert_status(self, alert_id: str, status: str, case_id: str | None = None) -> bool:
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is None:
                return False
            alert.status = status
            if case_id is not None:
                alert.case_id = case_id
            return True

    def open_case(self, case: Case) -> Case:
        with self._lock:
            self._cases[case.case_id] = _copy(case)
            return case

    def get_case(self, case_id: str) -> Case | None:
        with self._lock:
            return _copy(self._cases.get(case_id))

    def cases(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Case]:
        with self._lock:
            found = [
                c
                for c in self._cases.values()
                if (status is None or c.status == status)
                and (card_id is None or c.card_id == card_id)
            ]
            found.sort(key=lambda c: (-c.priority, c.opened_at, c.case_id))
            return _copy(found[:limit])

    def close_case(self, case_id: str, at: datetime, verdict: str) -> bool:
        with self._lock:
            case = self._cases.get(case_id)
            if case is None or case.status == "closed":
                return False
            case.status, case.closed_at, case.verdict = "closed", _utc(at), verdict
            return True

    def add_case_event(self, event: CaseEvent) -> CaseEvent:
        with self._lock:
            if event.case_id not in self._cases:
                raise ConflictError(f"no case {event.case_id}")
            event.event_id = len(self._events) + 1
            self._events.append(_copy(event))
            return event

    def case_events(self, case_id: str) -> list[CaseEvent]:
        with self._lock:
            return _copy([e for e in self._events if e.case_id == case_id])

    # -- users and audit ------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        with self._lock:
            if user.username in self._users:
                raise ConflictError(f"user {user.username!r} already exists")
            self._users[user.username] = _copy(user)

    def get_user(self, username: str) -> User | None:
        with self._lock:
            return _copy(self._users.get(username))

    def append_audit(self, entry: AuditEntry) -> AuditEntry:
        with self._lock:
            entry.entry_id = len(self._audit) + 1
            self._audit.append(_copy(entry))
            return entry

    def audit_entries(
        self, target: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        with self._lock:
            found = [
                e
                for e in self._audit
                if (target is None or e.target == target) and (since is None or e.at >= since)
            ]
            return _copy(found[:limit])

    # -- breaches -------------------------------------------------------------------------------

    def add_breach(self, breach: Breach) -> Breach:
        with self._lock:
            self._breaches[breach.breach_id] = _copy(breach)
            return breach

    def get_breach(self, breach_id: str) -> Breach | None:
        with self._lock:
            return _copy(self._breaches.get(breach_id))

    def breaches(self, status: str | None = None) -> list[Breach]:
        with self._lock:
            found = [b for b in self._breaches.values() if status is None or b.status == status]
            found.sort(key=lambda b: (-b.score, b.detected_at, b.breach_id))
            return _copy(found)

    def set_breach_status(self, breach_id: str, status: str) -> bool:
        with self._lock:
            breach = self._breaches.get(breach_id)
            if breach is None:
                return False
            breach.status = status
            return True

    def add_exposures(self, exposures: Iterable[Exposure]) -> int:
        with self._lock:
            batch = list(exposures)
            keys = [(e.breach_id, e.card_id) for e in batch]
            if any(k in self._exposures for k in keys) or len(set(keys)) != len(keys):
                raise ConflictError("exposure already recorded")
            if any(e.breach_id not in self._breaches for e in batch):
                raise ConflictError("exposure of an unknown breach")
            self._exposures.update(zip(keys, batch, strict=True))
            return len(batch)

    def exposures(
        self, breach_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Exposure]:
        with self._lock:
            found = sorted(
                (e for e in self._exposures.values() if e.breach_id == breach_id),
                key=lambda e: (e.rank, e.card_id),
            )
            end = None if limit is None else offset + limit
            return found[offset:end]

    def exposures_of_card(self, card_id: str) -> list[Exposure]:
        with self._lock:
            return sorted(
                (e for e in self._exposures.values() if e.card_id == card_id),
                key=lambda e: e.breach_id,
            )

    def update_breach(self, breach: Breach) -> bool:
        with self._lock:
            stored = self._breaches.get(breach.breach_id)
            if stored is None:
                return False
            stored.merchant_id = breach.merchant_id
            stored.window_start = breach.window_start
            stored.window_end = breach.window_end
            stored.score = breach.score
            stored.evidence = _copy(breach.evidence)
            return True

    def rerank_exposures(self, exposures: Iterable[Exposure]) -> int:
        with self._lock:
            n = 0
            for e in exposures:
                key = (e.breach_id, e.card_id)
                if key in self._exposures:
                    old = self._exposures[key]
                    self._exposures[key] = dataclasses.replace(old, rank=e.rank, risk=e.risk)
                    n += 1
            return n

    def enqueue_exposure_notices(
        self, breach_id: str, notices: Sequence[tuple[OutboxDraft, Link]], now: datetime
    ) -> int:
        with self._lock:
            queued = 0
            for draft, link in notices:
                key = (breach_id, draft.card_id)
                found = self._exposures.get(key)
                if found is None or found.notified_at is not None:
                    continue
                self._exposures[key] = dataclasses.replace(found, notified_at=_utc(now))
                self.enqueue([draft], now, links=[link])
                queued += 1
            return queued

    # -- scheduled jobs -------------------------------------------------------------------------

    def record_job_run(self, run: JobRun) -> JobRun:
        with self._lock:
            run.run_id = len(self._job_runs) + 1
            self._job_runs.append(_copy(run))
            return run

    def last_job_run(self, job: str) -> JobRun | None:
        with self._lock:
            runs = [r for r in self._job_runs if r.job == job]
            return _copy(max(runs, key=lambda r: (r.as_of, r.run_id or 0), default=None))
