"""Cardholder controls: what the cardholder asked for, as records in force at an instant.

The cardholder's own settings come before any model: a frozen card is declined whatever the score
(``62``), a country or channel they blocked is declined (``57``), a merchant they trust or a
payment they confirmed with "it was me" is approved, and a travel notice tells the engine not to
count "abroad" or "first time in this country" against them. What they impose on a payment is
decided in one place, :func:`cardwatch.engine.control_verdict` (freeze → block → allow), from
the snapshot :func:`cardwatch.customer.engine_controls.snapshot` makes of these records; this
module builds the records and says which are in force.

A block beats an allowance because both came from the cardholder and a block is the safer reading
of a contradiction; nothing here beats a freeze.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cardwatch.schema import Reason, Transaction
from cardwatch.store.records import Control

__all__ = [
    "CONTROL_KINDS",
    "CardControls",
    "Controls",
    "NoControls",
    "active_controls",
    "allow_merchant_control",
    "block_channel_control",
    "block_country_control",
    "freeze_control",
    "retry_control",
    "travel_control",
    "travel_reason",
]

#: How far behind ours another system's clock may read (network transmission times).
CLOCK_SKEW = timedelta(minutes=2)

CONTROL_KINDS = (
    "travel",
    "allow_merchant",
    "block_country",
    "block_channel",
    "freeze",
    "approve_retry",
)


@dataclass(frozen=True, slots=True)
class CardControls:
    """The controls in force on one card at one moment (the engine decides what they impose:
    :class:`cardwatch.customer.engine_controls.EngineControls`)."""

    card_id: str
    controls: tuple[Control, ...] = ()

    def travel(self, txn: Transaction) -> Reason | None:
        return travel_reason(txn, self.controls)

    @property
    def frozen(self) -> bool:
        return any(c.kind == "freeze" for c in self.controls)


class Controls(Protocol):
    """What the engine calls: the card's controls in force at the transaction's time."""

    def controls_for(self, card_id: str, at: datetime) -> CardControls: ...


class NoControls:
    """No cardholder has set anything (replays without a store, tests of the engine)."""

    def controls_for(self, card_id: str, at: datetime) -> CardControls:
        return CardControls(card_id)


def active_controls(controls: Iterable[Control], at: datetime) -> tuple[Control, ...]:
    """The controls in force at ``at`` (event time: a replay sees what was in force then)."""
    return tuple(c for c in controls if c.active_at(at))


def _listed(values: object, item: str | None) -> bool:
    return item is not None and isinstance(values, list) and item.upper() in values


def travel_reason(txn: Transaction, controls: Sequence[Control]) -> Reason | None:
    """A reason when a travel notice covers the merchant's country: the engine relaxes
    cross-border and first-time-country risk for it.

    >>> from datetime import UTC
    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> notice = travel_control("tok_1", ["us"], now, now + timedelta(days=9), now)
    >>> txn = Transaction("t1", now, "tok_1", 20.0, "m1", merchant_country="US")
    >>> travel_reason(txn, [notice]).code
    'travel_notice'
    >>> txn.merchant_country = "CA"
    >>> travel_reason(txn, [notice]) is None
    True
    """
    for control in controls:
        if control.kind == "travel" and _listed(
            control.value.get("countries"), txn.merchant_country
        ):
            message = f"The cardholder told us they are travelling in {txn.merchant_country}."
            return Reason("travel_notice", message)
    return None


# -- building controls (the actions module validates input, then calls these) --------------------


def freeze_control(card_id: str, now: datetime, note: str = "") -> Control:
    return Control(card_id, "freeze", {"note": note} if note else {}, now, now)


def block_country_control(
    card_id: str,
    countries: Iterable[str],
    now: datetime,
    until: datetime | None = None,
    start: datetime | None = None,
) -> Control:
    """A country block, in force from ``start`` (default: now) until ``until`` (default: no end)."""
    value = {"countries": sorted({c.upper() for c in countries})}
    return Control(card_id, "block_country", value, start or now, now, valid_to=until)


def block_channel_control(
    card_id: str,
    channels: Iterable[str],
    now: datetime,
    until: datetime | None = None,
    start: datetime | None = None,
) -> Control:
    """A channel block, in force from ``start`` (default: now) until ``until`` (default: no end)."""
    value = {"channels": sorted(set(channels))}
    return Control(card_id, "block_channel", value, start or now, now, valid_to=until)


def travel_control(
    card_id: str, countries: Iterable[str], start: datetime, end: datetime, now: datetime
) -> Control:
    value = {"countries": sorted({c.upper() for c in countries})}
    return Control(card_id, "travel", value, start, now, valid_to=end)


def allow_merchant_control(
    card_id: str,
    merchant_id: str,
    now: datetime,
    until: datetime | None = None,
    merchant_name: str | None = None,
    start: datetime | None = None,
) -> Control:
    """A trusted merchant, from ``start`` (default: now) until ``until`` (default: no end)."""
    value = {"merchant_id": merchant_id, "merchant_name": merchant_name}
    return Control(card_id, "allow_merchant", value, start or now, now, valid_to=until)


def retry_control(
    card_id: str,
    merchant_id: str,
    amount: float,
    currency: str,
    now: datetime,
    channel: str | None = None,
    margin: float = 0.10,
    ttl: timedelta = timedelta(hours=24),
    decision_id: str | None = None,
) -> Control:
    """The scoped approval an "it was me" grants: this merchant, up to the amount plus a small
    margin (a retry may add a fee or a changed basket), until ``ttl`` runs out.

    >>> from datetime import UTC
    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> c = retry_control("tok_1", "m1", 100.0, "EUR", now)
    >>> c.value["max_amount"], c.valid_to - now
    (110.0, datetime.timedelta(days=1))
    """
    value = {
        "merchant_id": merchant_id,
        "max_amount": round(float(amount) * (1 + margin), 2),
        "currency": currency,
        "channel": channel,
        "decision_id": decision_id,
    }
    # In force from a little before the tap: the retry carries the network's time (DE 7, whole
    # seconds, from another clock), which may read a few seconds behind ours.
    return Control(card_id, "approve_retry", value, now - CLOCK_SKEW, now, valid_to=now + ttl)
