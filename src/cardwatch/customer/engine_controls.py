"""The cardholder's controls, as the decision engine reads them.

The store keeps controls as records (``freeze``, ``block_country``, ``block_channel``, ``travel``,
``allow_merchant``, ``approve_retry``); the engine wants one snapshot per card and instant
(:class:`cardwatch.engine.CardControls`), which is what it applies first, before rules and model,
in the live path and in replay alike.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from cardwatch.customer.control_cache import StoreControls
from cardwatch.engine import CardControls, ConfirmedPayment
from cardwatch.store.records import Control

__all__ = ["EngineControls", "snapshot"]


def snapshot(controls: Iterable[Control]) -> CardControls | None:
    """One card's active controls as the engine's snapshot (None when it has none).

    An "it was me" approval keeps its whole scope: that merchant, channel and currency, up to the
    amount it allows (the engine approves only the payment the cardholder confirmed).
    """
    frozen = False
    countries: set[str] = set()
    channels: set[str] = set()
    travel: set[str] = set()
    allowed: set[str] = set()
    confirmed: list[ConfirmedPayment] = []
    seen = False
    for c in controls:
        seen = True
        value = c.value
        if c.kind == "freeze":
            frozen = True
        elif c.kind == "block_country":
            countries.update(value.get("countries") or ())
        elif c.kind == "block_channel":
            channels.update(value.get("channels") or ())
        elif c.kind == "travel":
            travel.update(value.get("countries") or ())
        elif c.kind == "allow_merchant" and value.get("merchant_id"):
            allowed.add(str(value["merchant_id"]))
        elif c.kind == "approve_retry" and value.get("merchant_id"):
            confirmed.append(
                ConfirmedPayment(
                    str(value["merchant_id"]),
                    float(value.get("max_amount", 0.0)),
                    value.get("channel"),
                    value.get("currency"),
                )
            )
    if not seen:
        return None
    return CardControls(
        frozen=frozen,
        blocked_countries=frozenset(countries),
        blocked_channels=frozenset(channels),
        travel_countries=frozenset(travel),
        allowed_merchants=frozenset(allowed),
        confirmed_payments=tuple(confirmed),
    )


class EngineControls:
    """The engine's ``Controls`` over the store (through the cardholder actions' cache, so that
    an "it was me" or a freeze is seen by the very next payment)."""

    def __init__(self, controls: StoreControls) -> None:
        self.controls = controls

    def for_card(self, card_id: str, at: datetime) -> CardControls | None:
        return snapshot(self.controls.controls_for(card_id, at).controls)

    def card_ids(self) -> Collection[str]:
        """Replay of past history does not apply today's controls: no card is listed."""
        return ()
