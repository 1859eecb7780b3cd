"""``SqlStore``: the operational store on SQLite (default) or PostgreSQL, via SQLAlchemy Core.

Decisions, labels, the outbox, links and controls live here; alerts, cases, users, the audit
trail and breaches are in ``sql_cases``. Each public method is one short transaction. Races are
settled by the database, not by locks in this process, so several service processes may share one
PostgreSQL: a duplicate authorisation loses on the unique keys and reads the winner's decision; a
link is consumed and an outbox message claimed by a conditional UPDATE whose row count says who won.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from cardwatch.schema import Action, Decision, Reason, Transaction
from cardwatch.store import tables as t
from cardwatch.store.base import DEFAULT_LEASE, TXN_EXTRAS, default_idempotency_key
from cardwatch.store.database import WRITE_OPTION, make_engine, upgrade
from cardwatch.store.records import (
    Control,
    DecisionRecord,
    Effects,
    Label,
    Link,
    OutboxDraft,
    OutboxMessage,
    new_id,
)
from cardwatch.store.rows import as_record, as_row
from cardwatch.store.sql_cases import CasesMixin
from cardwatch.store.writelock import WriteTurns
from cardwatch.workspace import Workspace

__all__ = ["SqlStore", "open_store"]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


_BY_KEY_SQL: dict[tuple[str, str, bool, bool], tuple[str, tuple[str, ...] | None]] = {}


def _by_key_sql(engine: Engine, idempotency: bool, iso: bool) -> tuple[str, tuple[str, ...] | None]:
    """The idempotency lookup as the driver's SQL and its parameter order (None: by name),
    compiled once per dialect and shape."""
    dialect = engine.dialect
    shape = (dialect.name, dialect.driver, idempotency, iso)
    found = _BY_KEY_SQL.get(shape)
    if found is None:
        d = t.decisions
        conditions = []
        if idempotency:
            conditions.append(d.c.idempotency_key == bindparam("key"))
        if iso:
            conditions.append(d.c.iso_key == bindparam("iso"))
        # Both keys are unique: at most two rows, and the first is the answer (no LIMIT).
        query = select(
            d.c.decision_id, d.c.txn_id, d.c.action, d.c.response_code, d.c.score, d.c.reasons
        ).where(or_(*conditions))
        compiled = query.compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _BY_KEY_SQL[shape] = (str(compiled), order)
    return found


_RawInsert = tuple[str, tuple[str, ...], bool, dict[str, Any]]
_INSERTS: dict[tuple[str, str, str], _RawInsert] = {}


def _raw_insert(engine: Engine, table: Table) -> _RawInsert:
    """An INSERT of every column of ``table`` as the driver's SQL, its parameter names (in
    order when ``positional``), and each column's bind processor (or None): what SQLAlchemy
    would send, compiled once per dialect, so that a batch of decisions costs the driver's
    ``executemany`` and no statement machinery per row."""
    dialect = engine.dialect
    shape = (dialect.name, dialect.driver, table.name)
    found = _INSERTS.get(shape)
    if found is not None:
        return found
    compiled = insert(table).compile(dialect=dialect)
    positional = bool(compiled.positional)
    names = tuple(str(n) for n in (compiled.positiontup or () if positional else compiled.params))
    processors: dict[str, Any] = {
        c.key: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns
    }
    made: _RawInsert = (str(compiled), names, positional, processors)
    _INSERTS[shape] = made
    return made


def _decision_row(
    decision: Decision,
    txn: Transaction,
    key: str,
    iso_key: str | None,
    now: datetime | None,
    stand_in: bool | None,
) -> tuple[Decision, dict[str, Any], datetime]:
    """The decision as stored (its id given), its row, and when it was stored."""
    stored = dataclasses.replace(
        decision,
        reasons=list(decision.reasons),
        decision_id=decision.decision_id or new_id("dec"),
    )
    created = now or datetime.now(UTC)
    row: dict[str, Any] = {
        "decision_id": stored.decision_id,
        "txn_id": txn.txn_id,
        "card_id": txn.card_id,
        "customer_id": txn.customer_id,
        "merchant_id": txn.merchant_id,
        "merchant_name": txn.merchant_name,
        "amount": txn.amount,
        "currency": txn.currency,
        "timestamp": txn.timestamp,
        "action": str(stored.action),
        "response_code": stored.response_code,
        "score": float(stored.score),
        "reasons": [{"code": r.code, "message": r.message} for r in stored.reasons],
        "idempotency_key": key,
        "iso_key": iso_key,
        "reversed": False,
        "reversed_at": None,
        "stand_in": bool(stand_in),
        "created_at": created,
        **{name: getattr(txn, name) for name in TXN_EXTRAS},
    }
    return stored, row, created


class SqlStore(CasesMixin):
    """The store on one SQLAlchemy engine. ``SqlStore.open(url)`` migrates and connects."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._batch_connection: Connection | None = None
        self._batch_lock = threading.Lock()
        file_sqlite = engine.dialect.name == "sqlite" and not isinstance(engine.pool, StaticPool)
        self._turns = WriteTurns.for_database(str(engine.url.database)) if file_sqlite else None
        dbapi = engine.dialect.dbapi
        #: What the driver raises for a duplicate key when SQLAlchemy is not in between.
        self._driver_integrity_error: type[Exception] = (
            dbapi.IntegrityError if dbapi is not None else IntegrityError
        )

    @classmethod
    def open(cls, url: str, migrate: bool = True, **engine_kwargs: Any) -> SqlStore:
        """Connect to ``url`` (and bring its schema to the latest migration, by default)."""
        engine = make_engine(url, **engine_kwargs)
        if migrate:
            upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        with self._batch_lock:
            if self._batch_connection is not None:
                with contextlib.suppress(Exception):
                    self._batch_connection.close()
                self._batch_connection = None
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction, committed on leaving (rolled back on an exception); on a SQLite
        file, after this process's earlier writers (:class:`WriteTurns`)."""
        if self._turns is None:
            with self._writer.begin() as conn:
                yield conn
            return
        with self._turns, self._writer.begin() as conn:
            yield conn

    def _read(self) -> Any:
        return self.engine.connect()

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
        existing = self.find_decision_by_key(key, iso_key)
        if existing is not None:
            return existing
        stored, row, created = _decision_row(decision, txn, key, iso_key, now, stand_in)
        try:
            with self._write() as conn:
                conn.execute(insert(t.decisions).values(row))
                if effects is not None:
                    self._insert_effects(conn, effects, created)
        except IntegrityError:
            # Lost a race with the same authorisation: answer what the winner stored.
            winner = self.find_decision_by_key(key, iso_key)
            if winner is None:
                raise
            return winner
        return stored

    def record_decisions(
        self, records: Sequence[Mapping[str, Any]]
    ) -> list[Decision | BaseException]:
        """Several ``record_decision`` calls (each a mapping of its arguments) in one transaction:
        one commit, one fsync, for all of them (group commit).

        Each result is what its own ``record_decision`` call would have returned, or the
        exception it would have raised. The batch is inserted at once without looking the keys
        up first; should any insert fail (a key stored already, a duplicate within the batch, a
        clashing link), nothing of the batch is kept and each decision is recorded on its own.
        """
        prepared = []
        decisions, links, outbox, alerts = [], [], [], []
        for r in records:
            key = r.get("idempotency_key") or default_idempotency_key(r["txn"].txn_id)
            stored, row, created = _decision_row(
                r["decision"], r["txn"], key, r.get("iso_key"), r.get("now"), r.get("stand_in")
            )
            prepared.append(stored)
            decisions.append(row)
            effects: Effects | None = r.get("effects")
            if effects is not None:
                links += [as_row(x) for x in effects.links]
                outbox += [self._outbox_row(d, created) for d in effects.outbox]
                alerts += [as_row(a) for a in effects.alerts]
        try:
            with self._batch_write() as conn:
                self._insert_raw(conn, t.decisions, decisions)
                for table, rows in ((t.links, links), (t.outbox, outbox), (t.alerts, alerts)):
                    if rows:
                        conn.execute(insert(table), rows)
        except (IntegrityError, self._driver_integrity_error):
            results: list[Decision | BaseException] = []
            for r in records:
                try:
                    results.append(self.record_decision(**r))
                except Exception as exc:
                    results.append(exc)
            return results
        return list(prepared)

    @contextlib.contextmanager
    def _batch_write(self) -> Iterator[Connection]:
        """The write transaction of a batch of decisions. On a SQLite file it runs on a
        connection kept for batches: the pool's check-out, reset and check-in cost as much as
        the inserts of a small batch. Elsewhere — PostgreSQL, where a kept connection would miss
        the pool's liveness check after a database restart, or one in-memory SQLite connection
        shared by every caller — it is an ordinary write."""
        if self._turns is None:
            with self._write() as conn:
                yield conn
            return
        assert self._turns is not None
        with self._batch_lock, self._turns:
            kept = self._batch_connection
            if kept is None or kept.closed or kept.invalidated:
                kept = self._batch_connection = self._writer.connect()
            conn = kept
            try:
                with conn.begin():
                    yield conn
            except (IntegrityError, self._driver_integrity_error):
                raise  # rolled back; the connection is sound
            except BaseException:
                self._batch_connection = None  # whatever went wrong, start afresh next time
                with contextlib.suppress(Exception):
                    conn.close()
                raise

    def _insert_raw(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """``conn.execute(insert(table), rows)`` on the driver's cursor of the same transaction
        (see :func:`_raw_insert`); the driver's own errors are raised as they are."""
        sql, names, positional, processors = _raw_insert(self.engine, table)
        pairs = [(name, processors[name]) for name in names]
        if positional:
            params: list[Any] = [
                tuple(row[n] if p is None else p(row[n]) for n, p in pairs) for row in rows
            ]
        else:
            params = [{n: row[n] if p is None else p(row[n]) for n, p in pairs} for row in rows]
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()

    def _insert_effects(self, conn: Connection, effects: Effects, now: datetime) -> None:
        if effects.links:
            conn.execute(insert(t.links), [as_row(x) for x in effects.links])
        if effects.outbox:
            conn.execute(insert(t.outbox), [self._outbox_row(d, now) for d in effects.outbox])
        if effects.alerts:
            conn.execute(insert(t.alerts), [as_row(a) for a in effects.alerts])

    def decided_transactions(self, after: datetime | None = None) -> list[Transaction]:
        """The transactions decided live (after ``after``) and not reversed, in time order: with
        history, what the profiles are rebuilt from after a restart."""
        return [txn for txn, _, _ in self.decided_answers(after)]

    def decided_answers(self, after: datetime | None = None) -> list[tuple[Transaction, str, str]]:
        """:meth:`decided_transactions`, each with the action and response code it was given
        (for an advice, the network's own)."""
        d = t.decisions
        query = select(d).where(d.c.reversed.is_(False)).order_by(d.c.timestamp, d.c.txn_id)
        if after is not None:
            query = query.where(d.c.timestamp > after)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            (
                Transaction(
                    txn_id=r["txn_id"],
                    timestamp=r["timestamp"],
                    card_id=r["card_id"],
                    amount=float(r["amount"]),
                    merchant_id=r["merchant_id"],
                    customer_id=r["customer_id"],
                    currency=r["currency"],
                    merchant_name=r["merchant_name"],
                    **{n: r[n] for n in TXN_EXTRAS},
                ),
                r["action"],
                r["response_code"],
            )
            for r in rows
        ]

    def decision_keys(self) -> Iterator[tuple[str, str | None]]:
        """The idempotency and ISO keys of every stored decision, streamed (what the service's
        :class:`~cardwatch.store.keys.KeyFilter` is built from at start-up)."""
        d = t.decisions
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=10_000).execute(
                select(d.c.idempotency_key, d.c.iso_key)
            )
            yield from ((key, iso) for key, iso in result)

    def find_decision_by_key(
        self, idempotency_key: str | None = None, iso_key: str | None = None
    ) -> Decision | None:
        # Every authorisation asks this first, and nearly always of a new key: one SELECT on a
        # pooled DBAPI connection, without SQLAlchemy's per-statement work (a read on its own
        # needs no transaction; the pool rolls back whatever the driver opened).
        if idempotency_key is None and iso_key is None:
            return None
        sql, order = _by_key_sql(self.engine, idempotency_key is not None, iso_key is not None)
        values = {"key": idempotency_key, "iso": iso_key}
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, [values[n] for n in order] if order is not None else values)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()
        if row is None:
            return None
        decision_id, txn_id, action, code, score, reasons = row
        if isinstance(reasons, str | bytes):
            reasons = json.loads(reasons)
        return Decision(
            txn_id=txn_id,
            action=Action(action),
            response_code=code,
            score=float(score),
            reasons=[Reason(r["code"], r["message"]) for r in reasons],
            decision_id=decision_id,
        )

    def decision_record(self, decision_id: str) -> DecisionRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.decisions).where(t.decisions.c.decision_id == decision_id)
            ).first()
        return _decision_record(row._mapping) if row is not None else None

    def decisions_for_card(self, card_id: str, limit: int = 50) -> list[DecisionRecord]:
        query = (
            select(t.decisions)
            .where(t.decisions.c.card_id == card_id)
            .order_by(t.decisions.c.timestamp.desc(), t.decisions.c.created_at.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [_decision_record(r._mapping) for r in conn.execute(query)]

    def mark_reversed(self, decision_id: str, at: datetime) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(t.decisions)
                .where(t.decisions.c.decision_id == decision_id, t.decisions.c.reversed.is_(False))
                .values(reversed=True, reversed_at=at)
            )
        return result.rowcount == 1

    # -- labels ---------------------------------------------------------------------------------

    def add_label(self, label: Label) -> None:
        with self._write() as conn:
            conn.execute(insert(t.labels).values(as_row(label)))

    def labels_known_at(self, at: datetime) -> list[Label]:
        query = (
            select(t.labels)
            .where(t.labels.c.reported_at <= at)
            .order_by(t.labels.c.reported_at, t.labels.c.label_id)
        )
        with self._read() as conn:
            return [as_record(Label, r._mapping) for r in conn.execute(query)]

    # -- outbox ---------------------------------------------------------------------------------

    @staticmethod
    def _outbox_row(draft: OutboxDraft, now: datetime) -> dict[str, Any]:
        return {
            **as_row(draft),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }

    def enqueue(
        self, drafts: Sequence[OutboxDraft], now: datetime, links: Iterable[Link] = ()
    ) -> list[int]:
        link_rows = [as_row(x) for x in links]
        ids: list[int] = []
        with self._write() as conn:
            if link_rows:
                conn.execute(insert(t.links), link_rows)
            for draft in drafts:
                result = conn.execute(
                    insert(t.outbox).values(self._outbox_row(draft, now)).returning(t.outbox.c.id)
                )
                ids.append(result.scalar_one())
        return ids

    def claim_due(
        self, now: datetime, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        c = t.outbox.c
        due = (
            select(t.outbox)
            .where(c.status == "pending", c.next_attempt_at <= now)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        with self._read() as conn:
            candidates = [as_record(OutboxMessage, r._mapping) for r in conn.execute(due)]
        claimed: list[OutboxMessage] = []
        hidden_until = _utc(now) + lease
        with self._write() as conn:
            for msg in candidates:
                # ``attempts`` is the row's version: only one claimer can move it on.
                result = conn.execute(
                    update(t.outbox)
                    .where(c.id == msg.id, c.status == "pending", c.attempts == msg.attempts)
                    .values(attempts=msg.attempts + 1, next_attempt_at=hidden_until)
                )
                if result.rowcount == 1:
                    msg.attempts += 1
                    msg.next_attempt_at = hidden_until
                    claimed.append(msg)
        return claimed

    def mark_sent(self, message_id: int, at: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == message_id)
                .values(status="sent", sent_at=at, last_error=None)
            )

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = retry_at
        with self._write() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == message_id).values(**values))

    def outbox_messages(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]:
        query = select(t.outbox).order_by(t.outbox.c.id).limit(limit)
        if status is not None:
            query = query.where(t.outbox.c.status == status)
        if card_id is not None:
            query = query.where(t.outbox.c.card_id == card_id)
        with self._read() as conn:
            return [as_record(OutboxMessage, r._mapping) for r in conn.execute(query)]

    # -- links ----------------------------------------------------------------------------------

    def create_link(self, link: Link) -> None:
        with self._write() as conn:
            conn.execute(insert(t.links).values(as_row(link)))

    def get_link(self, link_id: str) -> Link | None:
        with self._read() as conn:
            row = conn.execute(select(t.links).where(t.links.c.link_id == link_id)).first()
        return as_record(Link, row._mapping) if row is not None else None

    def consume_link(self, link_id: str, at: datetime) -> Link | None:
        c = t.links.c
        with self._write() as conn:
            result = conn.execute(
                update(t.links)
                .where(c.link_id == link_id, c.used_at.is_(None), c.expires_at > at)
                .values(used_at=at)
            )
            if result.rowcount != 1:
                return None
            row = conn.execute(select(t.links).where(c.link_id == link_id)).one()
        return as_record(Link, row._mapping)

    # -- controls -------------------------------------------------------------------------------

    def add_control(self, control: Control) -> Control:
        with self._write() as conn:
            conn.execute(insert(t.controls).values(as_row(control)))
        return control

    def revoke_control(self, control_id: str, at: datetime) -> bool:
        c = t.controls.c
        with self._write() as conn:
            result = conn.execute(
                update(t.controls)
                .where(c.control_id == control_id, c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return result.rowcount == 1

    def cards_with_controls(self) -> set[str]:
        """Every card with a control not revoked: the few an authorisation must look up."""
        c = t.controls.c
        query = select(c.card_id).where(c.revoked_at.is_(None)).distinct()
        with self._read() as conn:
            return {row[0] for row in conn.execute(query)}

    def controls_of(self, card_id: str) -> list[Control]:
        c = t.controls.c
        query = select(t.controls).where(c.card_id == card_id).order_by(c.created_at, c.control_id)
        with self._read() as conn:
            return [as_record(Control, r._mapping) for r in conn.execute(query)]


def _decision(row: Mapping[str, Any]) -> Decision:
    return Decision(
        txn_id=row["txn_id"],
        action=Action(row["action"]),
        response_code=row["response_code"],
        score=row["score"],
        reasons=[Reason(r["code"], r["message"]) for r in row["reasons"]],
        decision_id=row["decision_id"],
    )


def _decision_record(row: Mapping[str, Any]) -> DecisionRecord:
    return DecisionRecord(
        decision=_decision(row),
        card_id=row["card_id"],
        customer_id=row["customer_id"],
        merchant_id=row["merchant_id"],
        merchant_name=row["merchant_name"],
        amount=row["amount"],
        currency=row["currency"],
        timestamp=row["timestamp"],
        idempotency_key=row["idempotency_key"],
        iso_key=row["iso_key"],
        stand_in=row["stand_in"],
        created_at=row["created_at"],
        reversed_at=row["reversed_at"],
        extras={name: row[name] for name in TXN_EXTRAS},
    )


def open_store(workspace: Workspace) -> SqlStore:
    """The workspace's store: ``$CARDWATCH_DATABASE_URL`` (PostgreSQL) or its SQLite file."""
    return SqlStore.open(workspace.database_url)
