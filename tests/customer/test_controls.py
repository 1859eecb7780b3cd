"""Cardholder controls decide before any model, in a fixed order, within their time and scope."""

from __future__ import annotations

from datetime import timedelta

from cardwatch.customer.control_cache import StoreControls
from cardwatch.customer.controls import (
    CLOCK_SKEW,
    CardControls,
    NoControls,
    active_controls,
    allow_merchant_control,
    block_channel_control,
    block_country_control,
    freeze_control,
    override_for,
    retry_control,
    travel_control,
)
from cardwatch.schema import Action
from cardwatch.store.memory import MemoryStore

from .helpers import T0, txn

CARD = "tok_card1"


def test_freeze_beats_everything() -> None:
    controls = [
        allow_merchant_control(CARD, "m_shoes", T0),
        retry_control(CARD, "m_shoes", 80.0, "EUR", T0),
        freeze_control(CARD, T0),
    ]
    o = override_for(txn(), controls)
    assert o is not None
    assert (o.action, o.response_code, o.reason.code) == (Action.DECLINE, "62", "card_frozen")
    assert o.reason.message


def test_cardholder_blocks_decline_57() -> None:
    by_country = override_for(txn(country="US"), [block_country_control(CARD, ["us"], T0)])
    assert by_country is not None and by_country.response_code == "57"
    assert "US" in by_country.reason.message
    by_channel = override_for(txn(), [block_channel_control(CARD, ["ecommerce"], T0)])
    assert by_channel is not None and by_channel.response_code == "57"
    assert "online" in by_channel.reason.message
    assert override_for(txn(country="FR"), [block_country_control(CARD, ["US"], T0)]) is None
    assert override_for(txn(country=None), [block_country_control(CARD, ["US"], T0)]) is None
    assert (
        override_for(txn(channel="atm"), [block_channel_control(CARD, ["ecommerce"], T0)]) is None
    )


def test_block_beats_allowance() -> None:
    controls = [
        allow_merchant_control(CARD, "m_shoes", T0),
        block_country_control(CARD, ["US"], T0),
    ]
    o = override_for(txn(), controls)
    assert o is not None and o.action is Action.DECLINE


def test_allowed_merchant_approves() -> None:
    o = override_for(txn(), [allow_merchant_control(CARD, "m_shoes", T0)])
    assert o is not None and (o.action, o.response_code) == (Action.APPROVE, "00")
    assert (
        override_for(txn(merchant_id="m_other"), [allow_merchant_control(CARD, "m_shoes", T0)])
        is None
    )


def test_retry_is_scoped_to_merchant_amount_currency_channel() -> None:
    retry = retry_control(CARD, "m_shoes", 80.0, "EUR", T0, channel="ecommerce", margin=0.1)
    ok = override_for(txn(amount=88.0), [retry])
    assert (
        ok is not None and ok.action is Action.APPROVE and ok.reason.code == "cardholder_confirmed"
    )
    assert ok.control_id == retry.control_id
    assert override_for(txn(amount=88.01), [retry]) is None
    assert override_for(txn(merchant_id="m_other"), [retry]) is None
    assert override_for(txn(currency="USD"), [retry]) is None
    assert override_for(txn(channel="card_present"), [retry]) is None


def test_retry_expires() -> None:
    retry = retry_control(CARD, "m_shoes", 80.0, "EUR", T0, ttl=timedelta(hours=1))
    assert active_controls([retry], T0 + timedelta(minutes=59)) == (retry,)
    assert active_controls([retry], T0 + timedelta(hours=1)) == ()
    # A retry stamped by a network clock a second behind ours is still the confirmed retry...
    assert active_controls([retry], T0 - timedelta(seconds=1)) == (retry,)
    # ...but nothing from before the tap, beyond that tolerance, is covered.
    assert active_controls([retry], T0 - CLOCK_SKEW - timedelta(seconds=1)) == ()


def test_travel_notice_is_a_flag_in_its_dates() -> None:
    notice = travel_control(CARD, ["US", "ca"], T0 + timedelta(days=1), T0 + timedelta(days=8), T0)
    during = txn(at=T0 + timedelta(days=2))
    cc = CardControls(CARD, active_controls([notice], during.timestamp))
    reason = cc.travel(during)
    assert reason is not None and reason.code == "travel_notice" and "US" in reason.message
    assert cc.override(during) is None
    before = CardControls(CARD, active_controls([notice], T0))
    assert before.travel(txn()) is None
    assert cc.travel(txn(country="MX", at=during.timestamp)) is None


def test_no_controls() -> None:
    cc = NoControls().controls_for(CARD, T0)
    assert cc.override(txn()) is None and cc.travel(txn()) is None and not cc.frozen


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.set_reads = 0

    def controls_of(self, card_id: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().controls_of(card_id)

    def cards_with_controls(self):  # type: ignore[no-untyped-def]
        self.set_reads += 1
        return super().cards_with_controls()


def test_store_controls_cache_and_invalidation() -> None:
    store = CountingStore()
    ticks = [0.0]
    controls = StoreControls(store, ttl_seconds=5.0, clock=lambda: ticks[0])
    assert controls.controls_for(CARD, T0).controls == ()
    assert controls.controls_for("another", T0).controls == ()
    # Cards without controls cost no query of their own: one query lists the cards that have any.
    assert (store.reads, store.set_reads) == (0, 1)
    freeze = controls.add(freeze_control(CARD, T0))
    assert controls.controls_for(CARD, T0).frozen  # seen at once, without waiting for the TTL
    assert store.reads == 1
    controls.revoke(CARD, freeze.control_id, T0 + timedelta(minutes=1))
    assert not controls.controls_for(CARD, T0 + timedelta(minutes=2)).frozen
    assert controls.controls_for(CARD, T0 + timedelta(seconds=30)).frozen  # event time
    # A change made elsewhere is seen once the entry is older than the TTL.
    store.add_control(block_country_control(CARD, ["US"], T0))
    later = T0 + timedelta(minutes=2)
    assert controls.controls_for(CARD, later).override(txn()) is None
    ticks[0] = 5.0
    o = controls.controls_for(CARD, later).override(txn())
    assert o is not None and o.response_code == "57"


def test_store_controls_lru_bound() -> None:
    store = CountingStore()
    for card in ("a", "b", "c"):
        store.add_control(freeze_control(card, T0))
    controls = StoreControls(store, max_cards=2)
    for card in ("a", "b", "c", "a"):
        controls.controls_for(card, T0)
    assert store.reads == 4  # "a" was evicted by "c"
