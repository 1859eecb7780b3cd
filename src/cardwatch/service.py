"""The authorisation service: one decision per payment, durable before it is answered, the same
answer for every retry, and the cardholder told at once when a payment is stopped.

Both wire adapters (HTTP and ISO 8583) call this and nothing else, so idempotency, durability and
notification behave the same whichever way a payment arrives. The engine's profile state is one
in-process object, so decide → store → update runs under a lock: the profiles then see payments
in the order they were answered, which is the order a replay of the stored decisions sees them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cardwatch.customer.outbox import notification_effects
from cardwatch.engine import Engine
from cardwatch.schema import Action, Decision, Reason, Transaction
from cardwatch.store.base import Store
from cardwatch.store.records import Label

__all__ = ["AuthorisationService", "Authorised", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Authorised:
    """A decision as answered; ``replayed`` when it is the stored answer to an earlier attempt."""

    decision: Decision
    replayed: bool = False


class AuthorisationService:
    """Decide, store (with the notice and its links, atomically), then fold into the profiles."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        secret_key: bytes,
        base_url: str = "http://127.0.0.1:8000",
        channel: str = "log",
        clock: Callable[[], datetime] = utc_now,
        on_decision: Callable[[Decision, float], None] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.secret_key = secret_key
        self.base_url = base_url
        self.channel = channel
        self.clock = clock
        self.on_decision = on_decision
        self._lock = threading.Lock()

    def authorise(
        self,
        txn: Transaction,
        *,
        idempotency_key: str | None = None,
        iso_key: str | None = None,
        card_label: str | None = None,
        stand_in: bool = False,
    ) -> Authorised:
        """The decision on ``txn``; a retry (same idempotency or ISO key) gets the first answer."""
        started = _perf()
        key = idempotency_key or f"txn:{txn.txn_id}"
        with self._lock:
            earlier = self.store.find_decision_by_key(idempotency_key=key, iso_key=iso_key)
            if earlier is not None:
                return Authorised(earlier, replayed=True)
            decision = self.engine.decide(txn)
            now = self.clock()
            effects = notification_effects(
                decision,
                txn,
                key=self.secret_key,
                now=now,
                base_url=self.base_url,
                channel=self.channel,
                card_label=card_label,
            )
            stored = self.store.record_decision(
                decision, txn, key, iso_key, now=now, stand_in=stand_in, effects=effects
            )
            replayed = stored.decision_id != decision.decision_id
            if not replayed:
                self.engine.update(txn, stored)
        if self.on_decision is not None and not replayed:
            self.on_decision(stored, _perf() - started)
        return Authorised(stored, replayed=replayed)

    def advice(
        self, txn: Transaction, approved: bool, response_code: str, *, iso_key: str | None = None
    ) -> Authorised:
        """A decision the network took in stand-in: recorded and applied once, however often the
        advice is sent."""
        key = f"advice:{iso_key or txn.txn_id}"
        action = Action.APPROVE if approved else Action.DECLINE
        decision = Decision(
            txn_id=txn.txn_id,
            action=action,
            response_code=response_code,
            score=0.0,
            reasons=[Reason("stand_in", "Decided by the card network in stand-in.")],
            decision_id=f"adv-{txn.txn_id}",
        )
        with self._lock:
            earlier = self.store.find_decision_by_key(idempotency_key=key, iso_key=iso_key)
            if earlier is not None:
                return Authorised(earlier, replayed=True)
            stored = self.store.record_decision(
                decision, txn, key, iso_key, now=self.clock(), stand_in=True
            )
            replayed = stored.decision_id != decision.decision_id
            if not replayed:
                self.engine.update(txn, stored)
        return Authorised(stored, replayed=replayed)

    def reverse(self, iso_key: str | None = None, idempotency_key: str | None = None) -> bool:
        """Mark the original decision reversed; False when there is none or it already was."""
        with self._lock:
            original = self.store.find_decision_by_key(
                idempotency_key=idempotency_key, iso_key=iso_key
            )
            if original is None:
                return False
            done = self.store.mark_reversed(original.decision_id, self.clock())
            reverse = getattr(self.engine, "reverse", None)
            if done and reverse is not None:
                reverse(original.txn_id)
            return done

    def label(
        self,
        txn_id: str,
        card_id: str,
        merchant_id: str | None,
        is_fraud: bool,
        reported_at: datetime,
        source: str,
        occurred_at: datetime | None = None,
    ) -> None:
        """A confirmed fraud or a confirmed genuine payment (chargeback, cardholder, analyst)."""
        with self._lock:
            self.store.add_label(Label(txn_id, card_id, is_fraud, reported_at, source))
            if is_fraud and merchant_id:
                self.engine.report_fraud(txn_id, merchant_id, reported_at, occurred_at)


def _perf() -> float:
    import time

    return time.perf_counter()
