"""The analysts' side of ``SqlStore``: alerts, cases and their events, users, audit, breaches.

A mixin so that ``sql.py`` stays one concept (the authorisation and cardholder loop) while
``SqlStore`` remains one object with one engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from cardwatch.store import tables as t
from cardwatch.store.base import ConflictError
from cardwatch.store.records import (
    Alert,
    AuditEntry,
    Breach,
    Case,
    CaseEvent,
    Exposure,
    JobRun,
    Link,
    OutboxDraft,
    User,
)
from cardwatch.store.rows import as_record, as_row

__all__ = ["CasesMixin"]


class CasesMixin:
    """Needs ``engine`` and ``_write()``/``_read()`` from the class it is mixed into."""

    engine: Engine

    def _write(self) -> Any:
        raise NotImplementedError

    def _read(self) -> Any:
        raise NotImplementedError

    def _outbox_row(self, draft: OutboxDraft, now: datetime) -> dict[str, Any]:
        raise NotImplementedError

    # -- alerts ---------------------------------------------------------------------------------

    def add_alert(self, alert: Alert) -> Alert:
        with self._write() as conn:
            conn.execute(insert(t.alerts).values(as_row(alert)))
        return alert

    def alerts(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Alert]:
        c = t.alerts.c
        query = select(t.alerts).order_by(c.created_at, c.alert_id).limit(limit)
        if status is not None:
            query = query.where(c.status == status)
        if card_id is not None:
            query = query.where(c.card_id == card_id)
        with self._read() as conn:
            return [as_record(Alert, r._mapping) for r in conn.execute(query)]

    def set_alert_status(self, alert_id: str, status: str, case_id: str | None = None) -> bool:
        values: dict[str, Any] = {"status": status}
        if case_id is not None:
            values["case_id"] = case_id
        with self._write() as conn:
            result = conn.execute(
                update(t.alerts).where(t.alerts.c.alert_id == alert_id).values(**values)
            )
        return result.rowcount == 1

    # -- cases ----------------------------------------------------------------------------------

    def open_case(self, case: Case) -> Case:
        with self._write() as conn:
            conn.execute(insert(t.cases).values(as_row(case)))
        return case

    def get_case(self, case_id: str) -> Case | None:
        with self._read() as conn:
            row = conn.execute(select(t.cases).where(t.cases.c.case_id == case_id)).first()
        return as_record(Case, row._mapping) if row is not None else None

    def cases(
        self, status: str | None = None, card_id: str | None = None, limit: int = 100
    ) -> list[Case]:
        c = t.cases.c
        query = select(t.cases).order_by(c.priority.desc(), c.opened_at, c.case_id).limit(limit)
        if status is not None:
            query = query.where(c.status == status)
        if card_id is not None:
            query = query.where(c.card_id == card_id)
        with self._read() as conn:
            return [as_record(Case, r._mapping) for r in conn.execute(query)]

    def close_case(self, case_id: str, at: datetime, verdict: str) -> bool:
        c = t.cases.c
        with self._write() as conn:
            result = conn.execute(
                update(t.cases)
                .where(c.case_id == case_id, c.status != "closed")
                .values(status="closed", closed_at=at, verdict=verdict)
            )
        return result.rowcount == 1

    def add_case_event(self, event: CaseEvent) -> CaseEvent:
        try:
            with self._write() as conn:
                result = conn.execute(
                    insert(t.case_events)
                    .values(as_row(event, skip_none=["event_id"]))
                    .returning(t.case_events.c.event_id)
                )
                event.event_id = result.scalar_one()
        except IntegrityError as exc:
            raise ConflictError(f"no case {event.case_id}") from exc
        return event

    def case_events(self, case_id: str) -> list[CaseEvent]:
        c = t.case_events.c
        query = select(t.case_events).where(c.case_id == case_id).order_by(c.event_id)
        with self._read() as conn:
            return [as_record(CaseEvent, r._mapping) for r in conn.execute(query)]

    # -- users and audit ------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        try:
            with self._write() as conn:
                conn.execute(insert(t.users).values(as_row(user)))
        except IntegrityError as exc:
            raise ConflictError(f"user {user.username!r} already exists") from exc

    def get_user(self, username: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
        return as_record(User, row._mapping) if row is not None else None

    def append_audit(self, entry: AuditEntry) -> AuditEntry:
        with self._write() as conn:
            result = conn.execute(
                insert(t.audit)
                .values(as_row(entry, skip_none=["entry_id"]))
                .returning(t.audit.c.entry_id)
            )
            entry.entry_id = result.scalar_one()
        return entry

    def audit_entries(
        self, target: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        c = t.audit.c
        query = select(t.audit).order_by(c.entry_id).limit(limit)
        if target is not None:
            query = query.where(c.target == target)
        if since is not None:
            query = query.where(c.at >= since)
        with self._read() as conn:
            return [as_record(AuditEntry, r._mapping) for r in conn.execute(query)]

    # -- breaches -------------------------------------------------------------------------------

    def add_breach(self, breach: Breach) -> Breach:
        with self._write() as conn:
            conn.execute(insert(t.breaches).values(as_row(breach)))
        return breach

    def get_breach(self, breach_id: str) -> Breach | None:
        with self._read() as conn:
            query = select(t.breaches).where(t.breaches.c.breach_id == breach_id)
            row = conn.execute(query).first()
        return as_record(Breach, row._mapping) if row is not None else None

    def breaches(self, status: str | None = None) -> list[Breach]:
        c = t.breaches.c
        query = select(t.breaches).order_by(c.score.desc(), c.detected_at, c.breach_id)
        if status is not None:
            query = query.where(c.status == status)
        with self._read() as conn:
            return [as_record(Breach, r._mapping) for r in conn.execute(query)]

    def set_breach_status(self, breach_id: str, status: str) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(t.breaches).where(t.breaches.c.breach_id == breach_id).values(status=status)
            )
        return result.rowcount == 1

    def add_exposures(self, exposures: Iterable[Exposure]) -> int:
        rows = [as_row(e) for e in exposures]
        if not rows:
            return 0
        try:
            with self._write() as conn:
                conn.execute(insert(t.exposures), rows)
        except IntegrityError as exc:
            raise ConflictError("exposure already recorded, or of an unknown breach") from exc
        return len(rows)

    def exposures(
        self, breach_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Exposure]:
        c = t.exposures.c
        query = (
            select(t.exposures)
            .where(c.breach_id == breach_id)
            .order_by(c.rank, c.card_id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [as_record(Exposure, r._mapping) for r in conn.execute(query)]

    def exposures_of_card(self, card_id: str) -> list[Exposure]:
        c = t.exposures.c
        query = select(t.exposures).where(c.card_id == card_id).order_by(c.breach_id)
        with self._read() as conn:
            return [as_record(Exposure, r._mapping) for r in conn.execute(query)]

    def update_breach(self, breach: Breach) -> bool:
        values = {
            "merchant_id": breach.merchant_id,
            "window_start": breach.window_start,
            "window_end": breach.window_end,
            "score": breach.score,
            "evidence": breach.evidence,
        }
        with self._write() as conn:
            result = conn.execute(
                update(t.breaches)
                .where(t.breaches.c.breach_id == breach.breach_id)
                .values(**values)
            )
        return result.rowcount == 1

    def rerank_exposures(self, exposures: Iterable[Exposure]) -> int:
        c = t.exposures.c
        rows = [
            {"b": e.breach_id, "c": e.card_id, "rank": e.rank, "risk": e.risk} for e in exposures
        ]
        if not rows:
            return 0
        statement = (
            update(t.exposures)
            .where(c.breach_id == bindparam("b"), c.card_id == bindparam("c"))
            .values(rank=bindparam("rank"), risk=bindparam("risk"))
        )
        with self._write() as conn:
            conn.execute(statement, rows)
        return len(rows)

    def enqueue_exposure_notices(
        self, breach_id: str, notices: Sequence[tuple[OutboxDraft, Link]], now: datetime
    ) -> int:
        c = t.exposures.c
        queued = 0
        with self._write() as conn:
            for draft, link in notices:
                # The card's row is the guard: only the response that flips it tells the holder.
                claimed = conn.execute(
                    update(t.exposures)
                    .where(
                        c.breach_id == breach_id,
                        c.card_id == draft.card_id,
                        c.notified_at.is_(None),
                    )
                    .values(notified_at=now)
                )
                if claimed.rowcount != 1:
                    continue
                conn.execute(insert(t.links).values(as_row(link)))
                conn.execute(insert(t.outbox).values(self._outbox_row(draft, now)))
                queued += 1
        return queued

    # -- scheduled jobs -------------------------------------------------------------------------

    def record_job_run(self, run: JobRun) -> JobRun:
        with self._write() as conn:
            result = conn.execute(
                insert(t.job_runs)
                .values(as_row(run, skip_none=["run_id"]))
                .returning(t.job_runs.c.run_id)
            )
            run.run_id = result.scalar_one()
        return run

    def last_job_run(self, job: str) -> JobRun | None:
        c = t.job_runs.c
        query = (
            select(t.job_runs)
            .where(c.job == job)
            .order_by(c.as_of.desc(), c.run_id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return as_record(JobRun, row._mapping) if row is not None else None
