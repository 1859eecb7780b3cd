"""The notification outbox: what to write beside a decision, and the worker that delivers it.

Every decline or challenge gets a message in the durable outbox, written in the same transaction
as the decision (``notification_effects`` builds it, ``Store.record_decision(effects=...)`` writes
it), so a cardholder is told about every answered decline exactly once even if the process dies
right after answering. The ``OutboxWorker`` claims due messages, sends them through their channel
and records the outcome: sent, due again after an exponential back-off, or dead-lettered after
``max_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cardwatch.customer.channels import Channel, DeliveryError
from cardwatch.customer.links import link_url, new_link, sign
from cardwatch.customer.notices import decision_notice
from cardwatch.schema import Action, Decision, ResponseCode, Transaction
from cardwatch.store.base import DEFAULT_LEASE, Store
from cardwatch.store.records import Effects, OutboxDraft, OutboxMessage

__all__ = ["DeliveryReport", "OutboxWorker", "RetryPolicy", "notification_effects"]

log = logging.getLogger(__name__)

#: Declines caused by the cardholder's own settings: tell them, but offer no "it was me".
_CONTROL_CODES = (ResponseCode.NOT_PERMITTED, ResponseCode.RESTRICTED_CARD)


def notification_effects(
    decision: Decision,
    txn: Transaction,
    *,
    key: bytes,
    now: datetime,
    base_url: str,
    channel: str = "log",
    card_label: str | None = None,
    tz: ZoneInfo | None = None,
    link_ttl: timedelta = timedelta(hours=24),
) -> Effects:
    """The outbox message (and its two signed links) a decision calls for; empty for approvals.

    The decision must already carry its ``decision_id`` (``store.records.new_id("dec")``), which
    the links are scoped to. ``card_label`` is the masked PAN when the edge had one.
    """
    if decision.action not in (Action.DECLINE, Action.CHALLENGE):
        return Effects()
    if not decision.decision_id:
        raise ValueError("give the decision its decision_id before building its notification")
    merchant = txn.merchant_name or txn.merchant_id
    links = []
    if decision.response_code not in _CONTROL_CODES:
        retry_scope = {
            "decision_id": decision.decision_id,
            "txn_id": txn.txn_id,
            "merchant_id": txn.merchant_id,
            "merchant_name": merchant,
            "amount": float(txn.amount),
            "currency": txn.currency,
            "channel": txn.channel,
        }
        not_me_scope = {"decision_id": decision.decision_id, "txn_id": txn.txn_id}
        links = [
            new_link("it_was_me", txn.card_id, retry_scope, now, link_ttl),
            new_link("not_me", txn.card_id, not_me_scope, now, link_ttl),
        ]
    urls = {link.kind: link_url(base_url, sign(link, key)) for link in links}
    notice = decision_notice(
        decision.action,
        decision.reasons,
        merchant,
        float(txn.amount),
        txn.currency,
        txn.timestamp,
        urls,
        card_label=card_label,
        tz=tz,
        country=txn.merchant_country,
        channel=txn.channel,
    )
    payload = {
        "subject": notice.subject,
        "text": notice.text,
        "links": notice.links,
        "decision_id": decision.decision_id,
        "txn_id": txn.txn_id,
        "action": str(decision.action),
        "response_code": decision.response_code,
        "merchant_id": txn.merchant_id,
        "merchant_name": merchant,
        "amount": float(txn.amount),
        "currency": txn.currency,
        "timestamp": txn.timestamp.isoformat(),
        "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons],
    }
    draft = OutboxDraft(str(decision.action), txn.card_id, payload, txn.customer_id, channel)
    return Effects(outbox=[draft], links=links)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: ``base × factor^(attempts-1)``, capped; dead after ``max_attempts``."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed tries, or None to dead-letter.

        >>> p = RetryPolicy(max_attempts=3, base=timedelta(seconds=10))
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> [p.next_attempt(n, t) - t for n in (1, 2)]
        [datetime.timedelta(seconds=10), datetime.timedelta(seconds=20)]
        >>> p.next_attempt(3, t) is None
        True
        """
        if attempts >= self.max_attempts:
            return None
        delay = self.base * (self.factor ** max(attempts - 1, 0))
        return now + min(delay, self.cap)


@dataclass(slots=True)
class DeliveryReport:
    """What one pass of the worker did (message ids)."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


class OutboxWorker:
    """Delivers due outbox messages through their channels. Several workers may run at once:
    the store's claim gives each message to one of them."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 50,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.channels = channels
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.batch_size = batch_size
        self.lease = lease

    async def run_once(self) -> DeliveryReport:
        """Claim what is due now and try each message once, concurrently."""
        now = self.clock()
        claimed = await asyncio.to_thread(self.store.claim_due, now, self.batch_size, self.lease)
        report = DeliveryReport()
        await asyncio.gather(*(self._deliver(m, report) for m in claimed))
        return report

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, resting ``interval`` seconds when nothing was due."""
        while not stop.is_set():
            try:
                report = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; trying again")
                report = DeliveryReport()
            if not (report.sent or report.retried or report.dead):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    async def _deliver(self, message: OutboxMessage, report: DeliveryReport) -> None:
        channel = self.channels.get(message.channel)
        try:
            if channel is None:
                raise DeliveryError(f"no channel {message.channel!r}", permanent=True)
            await channel.send(message)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            now = self.clock()
            retry_at = None if permanent else self.policy.next_attempt(message.attempts, now)
            await asyncio.to_thread(self.store.mark_failed, message.id, error, retry_at)
            (report.dead if retry_at is None else report.retried).append(message.id)
            log.warning(
                "outbox #%s via %s failed (%s): %s",
                message.id,
                message.channel,
                "dead" if retry_at is None else f"retry at {retry_at}",
                error,
            )
            return
        await asyncio.to_thread(self.store.mark_sent, message.id, self.clock())
        report.sent.append(message.id)
