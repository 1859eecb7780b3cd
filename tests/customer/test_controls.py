"""Cardholder controls decide before any model, in a fixed order, within their time and scope.

What a control imposes is decided by the engine (``control_verdict``, the live path): these
tests go through it with controls held in a store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    retry_control,
    travel_control,
)
from cardwatch.refresh import run_now
from cardwatch.schema import Action, Decision, Transaction
from cardwatch.store.memory import MemoryStore
from cardwatch.store.records import Control

from .helpers import T0, decided, txn

CARD = "tok_card1"


def verdict(payment: Transaction, controls: Sequence[Control]) -> Decision:
    store = MemoryStore()
    for control in controls:
        store.add_control(control)
    return decided(StoreControls(store), payment)


def silent(decision: Decision) -> bool:
    """The controls had nothing to say: approved by the (empty) model, without reasons."""
    return decision.action is Action.APPROVE and decision.reasons == []


def test_freeze_beats_everything() -> None:
    controls = [
        allow_merchant_control(CARD, "m_shoes", T0),
        retry_control(CARD, "m_shoes", 80.0, "EUR", T0),
        freeze_control(CARD, T0),
    ]
    d = verdict(txn(), controls)
    assert (d.action, d.response_code, [r.code for r in d.reasons]) == (
        Action.DECLINE,
        "62",
        ["card_frozen"],
    )
    assert d.reasons[0].message


def test_cardholder_blocks_decline_57() -> None:
    by_country = verdict(txn(country="US"), [block_country_control(CARD, ["us"], T0)])
    assert by_country.response_code == "57"
    assert "US" in by_country.reasons[0].message
    by_channel = verdict(txn(), [block_channel_control(CARD, ["ecommerce"], T0)])
    assert by_channel.response_code == "57"
    assert "online" in by_channel.reasons[0].message
    assert silent(verdict(txn(country="FR"), [block_country_control(CARD, ["US"], T0)]))
    assert silent(verdict(txn(country=None), [block_country_control(CARD, ["US"], T0)]))
    assert silent(verdict(txn(channel="atm"), [block_channel_control(CARD, ["ecommerce"], T0)]))


def test_block_beats_allowance() -> None:
    controls = [
        allow_merchant_control(CARD, "m_shoes", T0),
        block_country_control(CARD, ["US"], T0),
    ]
    assert verdict(txn(), controls).action is Action.DECLINE


def test_allowed_merchant_approves() -> None:
    d = verdict(txn(), [allow_merchant_control(CARD, "m_shoes", T0)])
    assert (d.action, d.response_code, d.reasons[0].code) == (
        Action.APPROVE,
        "00",
        "allowed_merchant",
    )
    assert silent(
        verdict(txn(merchant_id="m_other"), [allow_merchant_control(CARD, "m_shoes", T0)])
    )


def test_retry_is_scoped_to_merchant_and_amount() -> None:
    retry = retry_control(CARD, "m_shoes", 80.0, "EUR", T0, channel="ecommerce", margin=0.1)
    ok = verdict(txn(amount=88.0), [retry])
    assert ok.action is Action.APPROVE and ok.reasons[0].code == "cardholder_confirmed"
    assert silent(verdict(txn(amount=88.01), [retry]))
    assert silent(verdict(txn(merchant_id="m_other"), [retry]))


def test_retry_is_scoped_to_channel_and_currency() -> None:
    """An "it was me" about an online payment does not let the card be swiped at that merchant,
    nor a payment in another currency through: the cardholder confirmed one payment only."""
    retry = retry_control(CARD, "m_shoes", 750.0, "EUR", T0, channel="ecommerce")
    assert verdict(txn(amount=750.0), [retry]).reasons[0].code == "cardholder_confirmed"
    assert silent(verdict(txn(amount=750.0, channel="card_present"), [retry]))
    assert silent(verdict(txn(amount=750.0, currency="GBP"), [retry]))
    assert silent(verdict(txn(amount=750.0, channel=None), [retry]))


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
    assert silent(verdict(during, [notice]))
    before = CardControls(CARD, active_controls([notice], T0))
    assert before.travel(txn()) is None
    assert cc.travel(txn(country="MX", at=during.timestamp)) is None


def test_no_controls() -> None:
    cc = NoControls().controls_for(CARD, T0)
    assert cc.travel(txn()) is None and not cc.frozen


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
    controls = StoreControls(store, ttl_seconds=5.0, clock=lambda: ticks[0], refresh=run_now)
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
    later = txn(at=T0 + timedelta(minutes=2))
    assert silent(decided(controls, later))
    ticks[0] = 5.0
    assert decided(controls, later).response_code == "57"


def test_stale_controls_answer_at_once_and_reload_off_the_deciding_thread() -> None:
    """A decision never waits for the store once the card's list is cached: the stale copy
    answers and one reload per card is queued, whatever the number of payments meanwhile."""
    store = CountingStore()
    store.add_control(freeze_control(CARD, T0))
    ticks = [0.0]
    queued: list[Callable[[], None]] = []
    controls = StoreControls(store, ttl_seconds=5.0, clock=lambda: ticks[0], refresh=queued.append)
    assert controls.controls_for(CARD, T0).frozen
    unfrozen = store.controls_of(CARD)[0]
    store.revoke_control(unfrozen.control_id, T0)  # changed by another process
    reads = (store.reads, store.set_reads)
    ticks[0] = 6.0
    for _ in range(3):
        assert controls.controls_for(CARD, T0 + timedelta(minutes=1)).frozen  # the stale copy
    assert (store.reads, store.set_reads) == reads  # no query in the deciding thread
    assert len(queued) == 2  # the set of cards with controls, and this card's list: once each
    for job in queued:
        job()
    assert not controls.controls_for(CARD, T0 + timedelta(minutes=1)).frozen


def test_store_controls_lru_bound() -> None:
    store = CountingStore()
    for card in ("a", "b", "c"):
        store.add_control(freeze_control(card, T0))
    controls = StoreControls(store, max_cards=2)
    for card in ("a", "b", "c", "a"):
        controls.controls_for(card, T0)
    assert store.reads == 4  # "a" was evicted by "c"
