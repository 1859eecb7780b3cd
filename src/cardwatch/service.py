"""The authorisation service: one decision per payment, durable before it is answered, the same
answer for every retry, and the cardholder told at once when a payment is stopped.

Both wire adapters (HTTP and ISO 8583) call this and nothing else, so idempotency, durability and
notification behave the same whichever way a payment arrives. The engine's profile state is one
in-process object, so decide → update runs under a lock, and the decisions are stored in that
same order (one writer, group commit): the profiles see payments in the order they are stored,
which is the order a replay of the stored decisions sees them. No answer leaves before the
commit that holds its decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter as _perf
from typing import Any

from cardwatch.customer.outbox import notification_effects
from cardwatch.engine import Engine
from cardwatch.errors import CardwatchError
from cardwatch.schema import Action, Decision, Reason, Transaction
from cardwatch.store.base import TXN_EXTRAS, Store
from cardwatch.store.keys import KeyFilter
from cardwatch.store.records import DecisionRecord, Label, new_id

__all__ = [
    "AuthorisationService",
    "Authorised",
    "GroupWriter",
    "KeyReusedError",
    "Pending",
    "utc_now",
]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class KeyReusedError(CardwatchError):
    """A key already answered (or being answered) for one payment came with another one.

    A retry must repeat its payment; a different payment under the same key is a client's bug
    (a reused ``Idempotency-Key``, ``txn_id`` or ISO retry key) and must be refused: answering it
    with the first payment's decision would leave it undecided yet, often, approved.
    ``fields`` names what differs (names only: the values may be cardholder data).
    """

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        super().__init__(
            "key reused with a different payment (" + ", ".join(self.fields) + " differ)"
        )


#: What a payment is: a retry under the same key repeats every one of these.
_PAYMENT = ("txn_id", "card_id", "amount", "currency", "merchant_id")
#: What else is kept beside a decision: a retry that gives one must give the same value, but
#: may leave it out (clients retry with the payment's essentials). Not the timestamp: an HTTP
#: request without one is stamped on arrival, so a retry's differs.
_DETAILS = ("customer_id", "merchant_name", *TXN_EXTRAS)


def _differences(txn: Transaction, first: Transaction | DecisionRecord) -> list[str]:
    """The fields in which ``txn`` is not the payment ``first`` was, by name.

    Amounts are compared to the store's four decimals (its ``Numeric(18, 4)`` column), so a
    stored amount read back equals the one sent again.
    """
    if isinstance(first, DecisionRecord):
        kept: dict[str, Any] = {
            "txn_id": first.decision.txn_id,
            "card_id": first.card_id,
            "amount": first.amount,
            "currency": first.currency,
            "merchant_id": first.merchant_id,
            "customer_id": first.customer_id,
            "merchant_name": first.merchant_name,
            **first.extras,
        }
    else:
        kept = {name: getattr(first, name) for name in (*_PAYMENT, *_DETAILS)}
    differ = []
    for name in (*_PAYMENT, *_DETAILS):
        mine, theirs = getattr(txn, name), kept.get(name)
        if name in _DETAILS and (mine is None or theirs is None):
            continue
        if isinstance(mine, int | float) and isinstance(theirs, int | float):
            same = round(float(mine) - float(theirs), 4) == 0
        else:
            same = mine == theirs
        if not same:
            differ.append(name)
    return differ


@dataclass(frozen=True, slots=True)
class Authorised:
    """A decision as answered; ``replayed`` when it is the stored answer to an earlier attempt."""

    decision: Decision
    replayed: bool = False


class GroupWriter:
    """One thread that stores decisions in the order they were submitted, committing together
    those that arrived while the previous commit was under way (one fsync for all of them).

    ``submit`` takes ``Store.record_decision``'s arguments and returns a future that is done
    once the decision is committed: its result is what ``record_decision`` would have returned
    (the stored decision, or the one stored earlier under the same key), its exception what it
    would have raised. A store with ``record_decisions`` (the SQL store) writes a batch in one
    transaction; any other store is called once per decision.

    ``on_failed`` is called, in the writer's thread, with the records that could not be stored
    (in submission order) before their futures fail: what was done on the strength of them can
    be undone before anyone hears of the failure. ``on_stored`` is called likewise with the
    records now in the store (or found there under their key) before their futures are done.
    """

    def __init__(
        self,
        store: Store,
        max_batch: int = 256,
        on_failed: Callable[[list[Mapping[str, Any]]], None] | None = None,
        on_stored: Callable[[list[Mapping[str, Any]]], None] | None = None,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.on_failed = on_failed
        self.on_stored = on_stored
        self._queue: list[tuple[Mapping[str, Any], Future[Decision]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, record: Mapping[str, Any]) -> Future[Decision]:
        done: Future[Decision] = Future()
        with self._ready:
            self._queue.append((record, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cardwatch-group-commit", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return done

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                results = self._write([record for record, _ in batch])
            except BaseException as exc:  # the whole batch failed: each request fails with it
                log.error("storing %d decisions failed: %s", len(batch), type(exc).__name__)
                results = [exc] * len(batch)
            failed = [
                record
                for (record, _), result in zip(batch, results, strict=True)
                if isinstance(result, BaseException)
            ]
            if failed and self.on_failed is not None:
                try:
                    self.on_failed(failed)
                except Exception as exc:
                    log.error("undoing %d unstored decisions failed: %r", len(failed), exc)
            if self.on_stored is not None and len(failed) < len(batch):
                stored = [
                    record
                    for (record, _), result in zip(batch, results, strict=True)
                    if not isinstance(result, BaseException)
                ]
                try:
                    self.on_stored(stored)
                except Exception as exc:
                    log.error("noting %d stored decisions failed: %r", len(stored), exc)
            for (_, done), result in zip(batch, results, strict=True):
                with contextlib.suppress(InvalidStateError):  # cancelled by its caller
                    if isinstance(result, BaseException):
                        done.set_exception(result)
                    else:
                        done.set_result(result)

    def _write(self, records: Sequence[Mapping[str, Any]]) -> list[Decision | BaseException]:
        many = getattr(self.store, "record_decisions", None)
        if many is not None:
            return list(many(records))
        results: list[Decision | BaseException] = []
        for record in records:
            try:
                results.append(self.store.record_decision(**record))
            except Exception as exc:
                results.append(exc)
        return results


class Pending:
    """An authorisation decided (or found) and on its way to the store: ``result()`` waits for
    the commit in this thread, ``await wait()`` on an event loop without holding a thread."""

    __slots__ = ("_committed", "_done", "_finish")

    def __init__(
        self,
        committed: Future[Decision] | None,
        done: Authorised | None,
        finish: Callable[[Decision], Authorised] | None,
    ) -> None:
        self._committed = committed
        self._done = done
        self._finish = finish

    def _answer(self, stored: Decision) -> Authorised:
        if self._finish is None:  # waited for the first attempt under the same key
            return Authorised(stored, replayed=True)
        return self._finish(stored)

    def result(self, timeout: float | None = None) -> Authorised:
        if self._done is not None:
            return self._done
        assert self._committed is not None
        return self._answer(self._committed.result(timeout))

    async def wait(self) -> Authorised:
        if self._done is not None:
            return self._done
        committed = self._committed
        assert committed is not None
        if not committed.done():
            # One future of the loop's own, settled from the writer's thread: a caller that
            # gives up (a network timeout) cancels only it, never the commit's future, which
            # other attempts under the same key may be waiting for. (``asyncio.shield`` of
            # ``wrap_future`` does the same with three futures and their callbacks.)
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()

            def wake(_: Future[Decision]) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    loop.call_soon_threadsafe(_settle, waiter)

            committed.add_done_callback(wake)
            await waiter
        return self._answer(committed.result())


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # else cancelled by its caller
        waiter.set_result(None)


class AuthorisationService:
    """Decide, fold into the profiles, store (with the notice and its links, atomically), answer.

    Deciding and updating the profiles is quick and runs under a lock, one payment after the
    other; storing is a commit (an fsync) and is shared: a writer thread commits the decisions
    of concurrent requests together, in the order they were decided, and each request is
    answered once the commit that holds its decision is done (group commit). A retry that
    arrives while its first attempt is still being stored waits for that attempt and gets its
    answer, so a key is decided once however the attempts interleave.

    Whether a key was decided before is asked of a :class:`KeyFilter` of the stored keys first
    (built from the store's ``decision_keys`` when it has them): a new key — nearly every one —
    is decided without a query, so an event loop can decide it at once
    (:meth:`try_begin_authorise`) instead of handing it to a thread and back, which cost more
    than the decision itself. The keys the filter cannot rule out are looked up in the store.
    """

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
        max_batch: int = 256,
    ) -> None:
        self.engine = engine
        self.store = store
        self.secret_key = secret_key
        self.base_url = base_url
        self.channel = channel
        self.clock = clock
        self.on_decision = on_decision
        self._lock = threading.Lock()
        self._stored = _stored_keys(store)
        self._writer = GroupWriter(
            store, max_batch=max_batch, on_failed=self._unfold, on_stored=self._remember
        )
        # Keys of the decisions taken but not yet committed: their pending commit and payment.
        self._pending: dict[str, tuple[Future[Decision], Transaction]] = {}
        self._pending_lock = threading.Lock()

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
        return self.begin_authorise(
            txn,
            idempotency_key=idempotency_key,
            iso_key=iso_key,
            card_label=card_label,
            stand_in=stand_in,
        ).result()

    def begin_authorise(
        self,
        txn: Transaction,
        *,
        idempotency_key: str | None = None,
        iso_key: str | None = None,
        card_label: str | None = None,
        stand_in: bool = False,
    ) -> Pending:
        """:meth:`authorise` up to the commit: the decision is taken (or found) and on its way
        to the store; the answer is the returned :class:`Pending`'s, once committed. An
        asynchronous adapter awaits ``Pending.wait()`` instead of holding a thread."""
        pending = self._begin_authorise(txn, idempotency_key, iso_key, card_label, stand_in, True)
        assert pending is not None
        return pending

    def try_begin_authorise(
        self,
        txn: Transaction,
        *,
        idempotency_key: str | None = None,
        iso_key: str | None = None,
        card_label: str | None = None,
        stand_in: bool = False,
    ) -> Pending | None:
        """:meth:`begin_authorise` for an event loop's own thread: it never waits for the store,
        and returns None when the answer may lie there (the key may have been stored: a retry,
        or the filter's rare false alarm). Then call :meth:`begin_authorise` in a worker thread.
        """
        return self._begin_authorise(txn, idempotency_key, iso_key, card_label, stand_in, False)

    def _begin_authorise(
        self,
        txn: Transaction,
        idempotency_key: str | None,
        iso_key: str | None,
        card_label: str | None,
        stand_in: bool,
        lookup: bool,
    ) -> Pending | None:
        started = _perf()
        key = idempotency_key or f"txn:{txn.txn_id}"

        def decide() -> tuple[Decision, dict[str, object]]:
            decision = self.engine.decide(txn)
            if not decision.decision_id:
                decision = dataclasses.replace(decision, decision_id=new_id("dec"))
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
            return decision, {"now": now, "stand_in": stand_in, "effects": effects}

        return self._decide_once(txn, key, iso_key, decide, started, lookup)

    def advice(
        self, txn: Transaction, approved: bool, response_code: str, *, iso_key: str | None = None
    ) -> Authorised:
        """A decision the network took in stand-in: recorded and applied once, however often the
        advice is sent."""
        return self.begin_advice(txn, approved, response_code, iso_key=iso_key).result()

    def begin_advice(
        self, txn: Transaction, approved: bool, response_code: str, *, iso_key: str | None = None
    ) -> Pending:
        """:meth:`advice` up to the commit (see :meth:`begin_authorise`)."""
        pending = self._begin_advice(txn, approved, response_code, iso_key, True)
        assert pending is not None
        return pending

    def try_begin_advice(
        self, txn: Transaction, approved: bool, response_code: str, *, iso_key: str | None = None
    ) -> Pending | None:
        """:meth:`begin_advice` that never waits for the store (see :meth:`try_begin_authorise`)."""
        return self._begin_advice(txn, approved, response_code, iso_key, False)

    def _begin_advice(
        self,
        txn: Transaction,
        approved: bool,
        response_code: str,
        iso_key: str | None,
        lookup: bool,
    ) -> Pending | None:
        key = f"advice:{iso_key or txn.txn_id}"
        action = Action.APPROVE if approved else Action.DECLINE

        def decide() -> tuple[Decision, dict[str, object]]:
            decision = Decision(
                txn_id=txn.txn_id,
                action=action,
                response_code=response_code,
                score=0.0,
                reasons=[Reason("stand_in", "Decided by the card network in stand-in.")],
                decision_id=f"adv-{txn.txn_id}",
            )
            return decision, {"now": self.clock(), "stand_in": True}

        return self._decide_once(txn, key, iso_key, decide, None, lookup)

    def _decide_once(
        self,
        txn: Transaction,
        key: str,
        iso_key: str | None,
        decide: Callable[[], tuple[Decision, dict[str, object]]],
        started: float | None,
        lookup: bool,
    ) -> Pending | None:
        """Under the lock: the stored or pending answer to this key, else a new decision folded
        into the profiles and handed to the writer. Without ``lookup``, None instead of asking
        the store when the key may be there.

        Raises :class:`KeyReusedError` when the key was answered for a different payment: that
        payment is neither decided nor answered with the other one's decision. The comparison
        costs nothing on the fast path: only a key that is pending or may be stored is checked.
        """
        with self._lock:
            pending = self._pending_for(key, iso_key)
            if pending is not None:
                committed_first, first = pending
                differ = _differences(txn, first)
                if differ:
                    raise KeyReusedError(differ)
                return Pending(committed_first, None, None)
            if self._may_be_stored(key, iso_key):
                if not lookup:
                    return None
                earlier = self.store.find_decision_by_key(idempotency_key=key, iso_key=iso_key)
                if earlier is not None:
                    record = self.store.decision_record(earlier.decision_id)
                    differ = _differences(txn, record) if record is not None else []
                    if differ:
                        raise KeyReusedError(differ)
                    return Pending(None, Authorised(earlier, replayed=True), None)
            decision, options = decide()
            # The next payment must see this one, so the profiles are updated now; the answer
            # still waits for the commit. Should the commit fail, the payment is taken back out
            # of the velocity windows (``_unfold``) before the request fails with it, so that
            # the profiles count what a restart would rebuild from the store.
            self.engine.update(txn, decision)
            committed = self._writer.submit(
                {"decision": decision, "txn": txn, "idempotency_key": key, "iso_key": iso_key}
                | options
            )
            self._hold(committed, txn, key, iso_key)

        def fresh(stored: Decision) -> Authorised:
            # Only another process racing for the same key (sharing PostgreSQL) can have won.
            replayed = stored.decision_id != decision.decision_id
            if self.on_decision is not None and started is not None and not replayed:
                self.on_decision(stored, _perf() - started)
            return Authorised(stored, replayed=replayed)

        return Pending(committed, None, fresh)

    def _may_be_stored(self, key: str, iso_key: str | None) -> bool:
        """False when the store certainly holds no decision under these keys. Asked after the
        pending keys: a decision leaves them only once the filter knows its keys."""
        stored = self._stored
        if stored is None:
            return True
        return f"key|{key}" in stored or (iso_key is not None and f"iso|{iso_key}" in stored)

    def _remember(self, records: list[Mapping[str, Any]]) -> None:
        """The writer stored these decisions (or found them stored): their keys join the filter
        before their requests are answered and their keys stop being pending."""
        stored = self._stored
        if stored is None:
            return
        try:
            for record in records:
                stored.add(f"key|{record['idempotency_key']}")
                if record.get("iso_key") is not None:
                    stored.add(f"iso|{record['iso_key']}")
        except BaseException:
            self._stored = None  # a key may be missing: from now on every key is looked up
            raise

    def _pending_for(
        self, key: str | None, iso_key: str | None
    ) -> tuple[Future[Decision], Transaction] | None:
        """The commit under way for these keys, with the payment it stores, or None."""
        with self._pending_lock:
            found = self._pending.get(key) if key is not None else None
            if found is None and iso_key is not None:
                found = self._pending.get(f"iso|{iso_key}")
            return found

    def _hold(
        self, committed: Future[Decision], txn: Transaction, key: str, iso_key: str | None
    ) -> None:
        """Keep the keys pending, with their payment, until their commit is done (committed or
        failed)."""
        keys = [key] + ([f"iso|{iso_key}"] if iso_key is not None else [])
        with self._pending_lock:
            for k in keys:
                self._pending[k] = (committed, txn)

        def release(_: Future[Decision]) -> None:
            with self._pending_lock:
                for k in keys:
                    held = self._pending.get(k)
                    if held is not None and held[0] is committed:
                        del self._pending[k]

        committed.add_done_callback(release)

    def _unfold(self, records: list[Mapping[str, Any]]) -> None:
        """The writer could not store these decisions: their payments leave the profiles'
        velocity windows (as a reversal would take them out), so that the next payments are
        decided as if they had never been seen, as after a restart. Runs before the requests
        fail; the failure itself is answered by the adapters (ISO 8583: the stand-in policy)."""
        reverse = getattr(self.engine, "reverse", None)
        if reverse is None:
            return
        with self._lock:
            for record in records:
                reverse(record["txn"].txn_id)

    def reverse(self, iso_key: str | None = None, idempotency_key: str | None = None) -> bool:
        """Mark the original decision reversed; False when there is none or it already was."""
        pending = self._pending_for(idempotency_key, iso_key)
        if pending is not None:  # the original is being stored: reverse it once it is
            # Waited for outside the lock: a failed commit takes the lock to undo its payments.
            with contextlib.suppress(Exception):
                pending[0].result()
        # The store is asked and written outside the lock, which event loops take to decide:
        # a commit (an fsync) must not hold up every decision. The conditional update settles
        # concurrent reversals of one payment: only the one that marked it takes it out.
        original = self.store.find_decision_by_key(idempotency_key=idempotency_key, iso_key=iso_key)
        if original is None:
            return False
        done = self.store.mark_reversed(original.decision_id, self.clock())
        reverse = getattr(self.engine, "reverse", None)
        if done and reverse is not None:
            with self._lock:
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
        self.store.add_label(Label(txn_id, card_id, is_fraud, reported_at, source))  # unlocked
        if is_fraud and merchant_id:
            with self._lock:
                self.engine.report_fraud(txn_id, merchant_id, reported_at, occurred_at)


def _stored_keys(store: Store) -> KeyFilter | None:
    """A filter of the keys ``store`` holds, or None (every key is looked up) when the store
    cannot list them."""
    keys = getattr(store, "decision_keys", None)
    if keys is None:
        return None
    found = KeyFilter()
    for key, iso_key in keys():
        found.add(f"key|{key}")
        if iso_key is not None:
            found.add(f"iso|{iso_key}")
    return found
