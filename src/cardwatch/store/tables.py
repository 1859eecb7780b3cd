"""The operational database's tables, as SQLAlchemy Core metadata (no ORM).

One ``MetaData`` shared by the store, the Alembic migrations (which must produce exactly these
tables; a test compares them) and the tests. Times are stored in UTC through ``UtcDateTime`` so
that SQLite (which has no time zones) and PostgreSQL give back the same aware datetimes. Cards
appear only as ``card_id`` tokens: no column may ever hold a PAN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "alerts",
    "audit",
    "breaches",
    "case_events",
    "cases",
    "controls",
    "decisions",
    "exposures",
    "job_runs",
    "labels",
    "links",
    "metadata",
    "outbox",
    "users",
]

#: Constraint names are fixed so that migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and read back aware; a naive one is UTC (as in the contract)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite keeps text; a fixed naive-UTC form sorts and compares correctly there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(name: str, length: int = 64) -> Column[str]:
    return Column(name, String(length), primary_key=True)


decisions = Table(
    "decisions",
    metadata,
    _id("decision_id"),
    Column("txn_id", String(128), nullable=False, index=True),
    Column("card_id", String(128), nullable=False, index=True),
    Column("customer_id", String(128)),
    Column("merchant_id", String(128), nullable=False),
    Column("merchant_name", String(256)),
    Column("amount", Numeric(18, 4, asdecimal=False), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timestamp", UtcDateTime(), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("idempotency_key", String(256), nullable=False, unique=True),
    # (card, STAN, RRN, transmission time) of an ISO 8583 request; NULL for other channels.
    Column("iso_key", String(256), unique=True),
    Column("reversed", Boolean, nullable=False, default=False),
    Column("reversed_at", UtcDateTime()),
    Column("stand_in", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # The rest of the (tokenised) transaction, so that profiles can be rebuilt after a crash.
    Column("mcc", String(4)),
    Column("merchant_country", String(2)),
    Column("merchant_lat", Float),
    Column("merchant_lon", Float),
    Column("terminal_id", String(128)),
    Column("channel", String(32)),
    Column("entry_mode", String(32)),
)

labels = Table(
    "labels",
    metadata,
    Column("label_id", Integer, primary_key=True, autoincrement=True),
    Column("txn_id", String(128), nullable=False, index=True),
    Column("card_id", String(128), nullable=False, index=True),
    Column("is_fraud", Boolean, nullable=False),
    Column("reported_at", UtcDateTime(), nullable=False),
    Column("source", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("card_id", String(128), nullable=False),
    Column("customer_id", String(128)),
    Column("payload", JSON, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Index(None, "status", "next_attempt_at"),
)

links = Table(
    "links",
    metadata,
    _id("link_id"),
    Column("kind", String(32), nullable=False),
    Column("card_id", String(128), nullable=False, index=True),
    Column("scope", JSON, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
)

controls = Table(
    "controls",
    metadata,
    _id("control_id"),
    Column("card_id", String(128), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("value", JSON, nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_to", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)

cases = Table(
    "cases",
    metadata,
    _id("case_id"),
    Column("card_id", String(128), index=True),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("breach_id", String(64)),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime()),
    Column("verdict", String(32)),
)

case_events = Table(
    "case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("who", String(128), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("details", JSON, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    _id("alert_id"),
    Column("card_id", String(128), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decision_id", String(64)),
    Column("txn_id", String(128)),
    Column("score", Float),
    Column("reasons", JSON, nullable=False),
    Column("case_id", String(64)),
)

users = Table(
    "users",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("who", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("details", JSON, nullable=False),
)

breaches = Table(
    "breaches",
    metadata,
    _id("breach_id"),
    Column("merchant_id", String(128), nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("window_end", UtcDateTime(), nullable=False),
    Column("score", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
)

exposures = Table(
    "exposures",
    metadata,
    Column("breach_id", String(64), ForeignKey("breaches.breach_id"), primary_key=True),
    Column("card_id", String(128), primary_key=True),
    Column("customer_id", String(128)),
    Column("risk", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("notified_at", UtcDateTime()),
    Column("added_at", UtcDateTime()),
    Index(None, "card_id"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),
    Column("as_of", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
    Column("details", JSON, nullable=False),
    Index(None, "job", "as_of"),
)
