"""The operational store's interface: what the service, the customer loop and the console need.

Two implementations keep it honest: ``SqlStore`` (SQLite or PostgreSQL through SQLAlchemy Core)
and ``MemoryStore`` (dicts behind a lock, for the core's tests). One conformance suite runs
against both. Every write that answers to someone (a decision, a consumed link) is committed
before the method returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from cardwatch.errors import CardwatchError
from cardwatch.schema import Decision, Transaction
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
)

__all__ = ["DEFAULT_LEASE", "TXN_EXTRAS", "ConflictError", "Store", "default_idempotency_key"]

#: Transaction fields kept beside a decision beyond the ones it is looked up by.
TXN_EXTRAS = (
    "mcc",
    "merchant_country",
    "merchant_lat",
    "merchant_lon",
    "terminal_id",
    "channel",
    "entry_mode",
)

#: How long a claimed outbox message stays hidden from other workers before it is due again
#: (a worker that died mid-send must not hold its messages for ever).
DEFAULT_LEASE = timedelta(seconds=60)


class ConflictError(CardwatchError):
    """A record with that identity already exists (a user name, say)."""


def default_idempotency_key(txn_id: str) -> str:
    """The key used when the caller sent none: the same ``txn_id`` is the same authorisation.

    >>> default_idempotency_key("t1")
    'txn:t1'
    """
    return f"txn:{txn_id}"


@runtime_checkable
class Store(Protocol):
    """Durable operational state. Times are aware datetimes (naive ones are taken as UTC)."""

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
        """Store a decision (and its effects) atomically, committed before returning.

        ``now`` (default: the wall clock) is when it was stored; the decision's own time is the
        transaction's timestamp.

        Idempotent: when a decision with the same idempotency key (default ``txn:<txn_id>``) or
        the same ISO key exists, that stored decision is returned and nothing is written, even
        when two calls race.
        """
        ...

    def decided_transactions(self, after: datetime | None = None) -> list[Transaction]: ...

    def decided_answers(
        self, after: datetime | None = None
    ) -> list[tuple[Transaction, str, str]]: ...

    def find_decision_by_key(
        self, idempotency_key: str | None = None, iso_key: str | None = None
    ) -> Decision | None: ...

    def decision_record(self, decision_id: str) -> DecisionRecord | None: ...

    def decisions_for_card(self, card_id: str, limit: int = 50) -> list[DecisionRecord]:
        """The card's latest decisions, newest first."""
        ...

    def mark_reversed(self, decision_id: str, at: datetime) -> bool:
        """Flag a decision reversed; False when unknown or already reversed (idempotent)."""
        ...

    # -- labels ---------------------------------------------------------------------------------
    def add_label(self, label: Label) -> None: ...

    def labels_known_at(self, at: datetime) -> list[Label]:
        """Labels reported at or before ``at``, in report order."""
        ...

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(
        self, drafts: Sequence[OutboxDraft], now: datetime, links: Iterable[Link] = ()
    ) -> list[int]:
        """Add messages (and the links they carry) in one transaction; their ids in order."""
        ...

    def claim_due(
        self, now: datetime, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Take pending messages due at ``now``: each is hidden for ``lease`` and its
        ``attempts`` counted, so two workers never send the same message at once."""
        ...

    def mark_sent(self, message_id: int, at: datetime) -> None: ...

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed send: due again at ``retry_at``, or dead-lettered when None."""
        ...

    def outbox_messages(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]: ...

    # -- links ----------------------------------------------------------------------------------
    def create_link(self, link: Link) -> None: ...

    def get_link(self, link_id: str) -> Link | None: ...

    def consume_link(self, link_id: str, at: datetime) -> Link | None:
        """Use a link once: the link, or None when unknown, expired or already used."""
        ...

    # -- controls -------------------------------------------------------------------------------
    def add_control(self, control: Control) -> Control: ...

    def revoke_control(self, control_id: str, at: datetime) -> bool: ...

    def cards_with_controls(self) -> set[str]: ...

    def controls_of(self, card_id: str) -> list[Control]:
        """Every control the card ever had (revoked and expired too), oldest first."""
        ...

    # -- alerts and cases -----------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> Alert: ...

    def alerts(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Alert]: ...

    def set_alert_status(self, alert_id: str, status: str, case_id: str | None = None) -> bool: ...

    def open_case(self, case: Case) -> Case: ...

    def get_case(self, case_id: str) -> Case | None: ...

    def cases(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Case]:
        """Cases, highest priority first, then oldest first."""
        ...

    def close_case(self, case_id: str, at: datetime, verdict: str) -> bool: ...

    def add_case_event(self, event: CaseEvent) -> CaseEvent: ...

    def case_events(self, case_id: str) -> list[CaseEvent]: ...

    # -- users and audit ------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        """Raises ``ConflictError`` when the user name is taken."""
        ...

    def get_user(self, username: str) -> User | None: ...

    def append_audit(self, entry: AuditEntry) -> AuditEntry: ...

    def audit_entries(
        self, target: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """Audit lines in the order written."""
        ...

    # -- breaches -------------------------------------------------------------------------------
    def add_breach(self, breach: Breach) -> Breach: ...

    def get_breach(self, breach_id: str) -> Breach | None: ...

    def breaches(self, status: str | None = None) -> list[Breach]:
        """Breaches, best score first."""
        ...

    def set_breach_status(self, breach_id: str, status: str) -> bool: ...

    def add_exposures(self, exposures: Iterable[Exposure]) -> int: ...

    def exposures(
        self, breach_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Exposure]:
        """The breach's exposed cards by rank (1 first); page with ``limit``/``offset``."""
        ...

    def exposures_of_card(self, card_id: str) -> list[Exposure]: ...

    def update_breach(self, breach: Breach) -> bool:
        """Write a stored breach's merchant, window, score and evidence (a later analysis widened
        it); its status and ``detected_at`` stay. False for an unknown breach."""
        ...

    def rerank_exposures(self, exposures: Iterable[Exposure]) -> int:
        """Set the rank and risk of stored exposures (by breach and card), nothing else; the
        number changed."""
        ...

    def enqueue_exposure_notices(
        self, breach_id: str, notices: Sequence[tuple[OutboxDraft, Link]], now: datetime
    ) -> int:
        """Queue each breach notice (and its link) whose card of ``breach_id`` is not yet
        notified, and mark it notified at ``now``, in one transaction: a card is told at most
        once per breach, even by two responses at once. The number queued."""
        ...

    # -- scheduled jobs -------------------------------------------------------------------------
    def record_job_run(self, run: JobRun) -> JobRun: ...

    def last_job_run(self, job: str) -> JobRun | None:
        """The run of ``job`` with the latest ``as_of``."""
        ...
