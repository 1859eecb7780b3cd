"""The plain records the operational store keeps and hands back.

They are what both stores (SQL and in-memory) take and return, so the service, the customer loop
and the analyst console never see a database row. Identifiers are generated here (random, no
clock) so that a caller can name a record before it is stored, which is what lets a decision, its
outbox message and its links be written in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cardwatch.schema import Decision

__all__ = [
    "Alert",
    "AuditEntry",
    "Breach",
    "Case",
    "CaseEvent",
    "Control",
    "DecisionRecord",
    "Effects",
    "Exposure",
    "JobRun",
    "Label",
    "Link",
    "OutboxDraft",
    "OutboxMessage",
    "User",
    "iso_key",
    "new_id",
]

JSONDict = dict[str, Any]


def new_id(prefix: str) -> str:
    """A random identifier with a readable prefix (128 bits: unguessable, so safe in links).

    >>> new_id("case").startswith("case_"), len(new_id("case"))
    (True, 37)
    """
    return f"{prefix}_{secrets.token_hex(16)}"


def iso_key(card_id: str, stan: str, rrn: str, transmitted: str) -> str:
    """The key of an ISO 8583 request: card token, DE 11 STAN, DE 37 RRN, DE 7 transmission time.

    A network retransmits a request it got no answer to with the same four values, and a reversal
    (0400) carries them for the original; the store finds the first decision by this key.

    >>> iso_key("tok_ab", "000123", "412300000001", "1123235900")
    'tok_ab|000123|412300000001|1123235900'
    """
    return "|".join((card_id, stan.strip(), rrn.strip(), transmitted.strip()))


@dataclass(slots=True)
class DecisionRecord:
    """A stored decision with the transaction facts kept beside it."""

    decision: Decision
    card_id: str
    customer_id: str | None
    merchant_id: str
    merchant_name: str | None
    amount: float
    currency: str
    timestamp: datetime
    idempotency_key: str
    iso_key: str | None
    stand_in: bool
    created_at: datetime
    reversed_at: datetime | None = None
    #: The rest of the transaction kept beside it (``store.base.TXN_EXTRAS``: mcc, terminal,
    #: channel…), by name: with the facts above, what a retry under the same key must repeat to
    #: be the same payment.
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def reversed(self) -> bool:
        return self.reversed_at is not None


@dataclass(frozen=True, slots=True)
class Label:
    """What became known about a transaction, and when (nothing may use it before then)."""

    txn_id: str
    card_id: str
    is_fraud: bool
    reported_at: datetime
    source: str


@dataclass(slots=True)
class OutboxDraft:
    """A message to deliver, before the outbox has given it an id."""

    kind: str
    card_id: str
    payload: JSONDict
    customer_id: str | None = None
    channel: str = "log"


@dataclass(slots=True)
class OutboxMessage:
    """A message in the outbox. ``pending`` ones are delivered when ``next_attempt_at`` is due."""

    id: int
    kind: str
    card_id: str
    customer_id: str | None
    payload: JSONDict
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass(slots=True)
class Link:
    """A single-use link given to a cardholder; ``scope`` says what it may do."""

    kind: str
    card_id: str
    scope: JSONDict
    expires_at: datetime
    created_at: datetime
    link_id: str = field(default_factory=lambda: new_id("lnk"))
    used_at: datetime | None = None


@dataclass(slots=True)
class Control:
    """A cardholder control, in force on ``[valid_from, valid_to)`` unless revoked earlier."""

    card_id: str
    kind: str
    value: JSONDict
    valid_from: datetime
    created_at: datetime
    valid_to: datetime | None = None
    control_id: str = field(default_factory=lambda: new_id("ctl"))
    revoked_at: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        """In force at ``at``: an event-time question, so a replay sees what was live then."""
        if at < self.valid_from or (self.valid_to is not None and at >= self.valid_to):
            return False
        return self.revoked_at is None or at < self.revoked_at


@dataclass(slots=True)
class Alert:
    """Something for an analyst to look at (a review decision, a rule hit, a breach signal)."""

    card_id: str
    kind: str
    created_at: datetime
    decision_id: str | None = None
    txn_id: str | None = None
    score: float | None = None
    reasons: list[JSONDict] = field(default_factory=list)
    status: str = "open"
    case_id: str | None = None
    alert_id: str = field(default_factory=lambda: new_id("alr"))


@dataclass(slots=True)
class Case:
    """An investigation: one card (or one breach), with a verdict when closed."""

    kind: str
    opened_at: datetime
    card_id: str | None = None
    priority: int = 50
    breach_id: str | None = None
    status: str = "open"
    closed_at: datetime | None = None
    verdict: str | None = None
    case_id: str = field(default_factory=lambda: new_id("case"))


@dataclass(slots=True)
class CaseEvent:
    case_id: str
    at: datetime
    who: str
    kind: str
    details: JSONDict = field(default_factory=dict)
    event_id: int | None = None


@dataclass(slots=True)
class User:
    username: str
    password_hash: str
    role: str
    created_at: datetime


@dataclass(slots=True)
class AuditEntry:
    """One line of the append-only audit trail (PCI DSS 10.2: who did what to what, when)."""

    who: str
    action: str
    target: str
    at: datetime
    details: JSONDict = field(default_factory=dict)
    entry_id: int | None = None


@dataclass(slots=True)
class Breach:
    """A suspected point of compromise: a merchant and the window its cards were stolen in."""

    merchant_id: str
    window_start: datetime
    window_end: datetime
    score: float
    detected_at: datetime
    status: str = "suspected"
    evidence: JSONDict = field(default_factory=dict)
    breach_id: str = field(default_factory=lambda: new_id("brc"))


@dataclass(frozen=True, slots=True)
class Exposure:
    """A card that paid at a breached merchant inside the window; ``rank`` 1 is looked at first."""

    breach_id: str
    card_id: str
    risk: float
    rank: int
    customer_id: str | None = None
    #: When the card's holder was told (a breach notice queued); None: not yet.
    notified_at: datetime | None = None
    #: The analysis moment that found this card exposed, when later than the breach's
    #: ``detected_at`` (a wider window found on a later run); None: from ``detected_at``.
    added_at: datetime | None = None


@dataclass(slots=True)
class JobRun:
    """One run of a scheduled job (the daily breach detection): the moment it ran as of, when it
    finished, and what it found. The last one tells a restarted service whether a run is due."""

    job: str
    as_of: datetime
    finished_at: datetime
    details: JSONDict = field(default_factory=dict)
    run_id: int | None = None


@dataclass(slots=True)
class Effects:
    """What must be written together with a new decision, or not at all.

    A retried authorisation must not notify the cardholder twice nor mint a second pair of links,
    so these are inserted only when the decision itself is new.
    """

    outbox: list[OutboxDraft] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
