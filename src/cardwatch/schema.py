"""The data contract: what a transaction, a card, a decision and a reason are.

These names and codes are what users' files, the HTTP API, the ISO 8583 listener and every
module of the core agree on (see docs and shared/CONTRACT.md); change them only by adding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import pyarrow as pa

__all__ = [
    "CARDS_SCHEMA",
    "CARD_COLUMNS",
    "CHANNELS",
    "ENTRY_MODES",
    "HISTORY_SCHEMA",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "TRANSACTION_COLUMNS",
    "Action",
    "Decision",
    "Reason",
    "ResponseCode",
    "Transaction",
]


class Action(StrEnum):
    """What the issuer does with an authorisation. ``review`` approves and raises an alert."""

    APPROVE = "approve"
    CHALLENGE = "challenge"
    DECLINE = "decline"
    REVIEW = "review"


class ResponseCode(StrEnum):
    """ISO 8583 DE 39 codes cardwatch answers with."""

    APPROVED = "00"
    DO_NOT_HONOUR = "05"
    FORMAT_ERROR = "30"
    NOT_PERMITTED = "57"
    SUSPECTED_FRAUD = "59"
    RESTRICTED_CARD = "62"
    ISSUER_INOPERATIVE = "91"
    SYSTEM_MALFUNCTION = "96"


CHANNELS = ("card_present", "ecommerce", "moto", "atm")
ENTRY_MODES = (
    "chip",
    "contactless",
    "magstripe",
    "fallback",
    "manual",
    "ecommerce",
    "credential_on_file",
)

REQUIRED_COLUMNS = ("txn_id", "timestamp", "card_id", "amount", "merchant_id")
OPTIONAL_COLUMNS = (
    "customer_id",
    "currency",
    "mcc",
    "merchant_name",
    "merchant_country",
    "merchant_lat",
    "merchant_lon",
    "terminal_id",
    "channel",
    "entry_mode",
    "is_fraud",
    "fraud_reported_at",
)
TRANSACTION_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
CARD_COLUMNS = ("card_id", "customer_id", "home_country", "home_lat", "home_lon")

_TS = pa.timestamp("us", tz="UTC")
#: How history is kept in the workspace (Parquet) and handed to the core (Arrow / pandas): every
#: contract column, typed; rows sorted by (timestamp, txn_id). ``card_id`` is a token or an opaque
#: id, never a PAN. A fraud label always has its ``fraud_reported_at`` (the import fills the
#: configured delay when the file has none), so "what was known at T" is one comparison.
HISTORY_SCHEMA = pa.schema(
    [
        ("txn_id", pa.string()),
        ("timestamp", _TS),
        ("card_id", pa.string()),
        ("amount", pa.float64()),
        ("merchant_id", pa.string()),
        ("customer_id", pa.string()),
        ("currency", pa.string()),
        ("mcc", pa.string()),
        ("merchant_name", pa.string()),
        ("merchant_country", pa.string()),
        ("merchant_lat", pa.float64()),
        ("merchant_lon", pa.float64()),
        ("terminal_id", pa.string()),
        ("channel", pa.string()),
        ("entry_mode", pa.string()),
        ("is_fraud", pa.int8()),
        ("fraud_reported_at", _TS),
    ]
)
CARDS_SCHEMA = pa.schema(
    [
        ("card_id", pa.string()),
        ("customer_id", pa.string()),
        ("home_country", pa.string()),
        ("home_lat", pa.float64()),
        ("home_lon", pa.float64()),
    ]
)


@dataclass(slots=True)
class Transaction:
    """One authorisation request, after the edge has tokenised the PAN into ``card_id``.

    Optional fields are ``None`` when the sender did not give them; ``is_fraud`` and
    ``fraud_reported_at`` are labels, present only in history.
    """

    txn_id: str
    timestamp: datetime
    card_id: str
    amount: float
    merchant_id: str
    customer_id: str | None = None
    currency: str = "EUR"
    mcc: str | None = None
    merchant_name: str | None = None
    merchant_country: str | None = None
    merchant_lat: float | None = None
    merchant_lon: float | None = None
    terminal_id: str | None = None
    channel: str | None = None
    entry_mode: str | None = None
    is_fraud: int | None = None
    fraud_reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken: a stable code for machines, a plain sentence for people."""

    code: str
    message: str


@dataclass(slots=True)
class Decision:
    """The answer to one authorisation."""

    txn_id: str
    action: Action
    response_code: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    decision_id: str = ""
