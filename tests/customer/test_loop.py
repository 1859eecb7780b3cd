"""The whole cardholder loop: decline → notice with links → "it was me" → the retry goes through;
"not me" → frozen card, case, label, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.control_cache import StoreControls
from cardwatch.customer.links import LinkError
from cardwatch.customer.outbox import notification_effects
from cardwatch.errors import NotFoundError, ValidationError
from cardwatch.schema import Action, Decision
from cardwatch.store.base import Store

from .helpers import BASE, KEY, T0, decided, decline, token_of, txn


def _decline_and_notify(store: Store, card_label: str | None = None) -> tuple[Decision, dict]:
    decision, t = decline(), txn()
    effects = notification_effects(
        decision, t, key=KEY, now=T0, base_url=BASE, card_label=card_label
    )
    stored = store.record_decision(decision, t, now=T0, effects=effects)
    (message,) = store.outbox_messages()
    return stored, message.payload


def test_decline_writes_one_notice_with_two_links(store: Store) -> None:
    stored, payload = _decline_and_notify(store, card_label="411111******1111")
    assert payload["decision_id"] == stored.decision_id
    assert set(payload["links"]) == {"it_was_me", "not_me"}
    assert all(url.startswith(BASE + "/l/") for url in payload["links"].values())
    text = payload["text"]
    for expected in (
        "Shoe Palace",
        "EUR 80.00",
        "Sunday 1 March 2026 at 12:00 (UTC)",
        "First payment in this country.",
        "411111******1111",
    ):
        assert expected in text
    assert payload["subject"] == "We stopped a payment of EUR 80.00 at Shoe Palace"
    # A retry of the same authorisation neither notifies again nor mints new links.
    again = notification_effects(decline(), txn(), key=KEY, now=T0, base_url=BASE)
    store.record_decision(decline(), txn(), now=T0, effects=again)
    assert len(store.outbox_messages()) == 1


def test_approvals_are_not_notified() -> None:
    d = decline()
    d.action, d.response_code = Action.APPROVE, "00"
    effects = notification_effects(d, txn(), key=KEY, now=T0, base_url=BASE)
    assert effects.outbox == [] and effects.links == []


def test_decline_by_own_settings_has_no_links() -> None:
    effects = notification_effects(decline(code="62"), txn(), key=KEY, now=T0, base_url=BASE)
    (draft,) = effects.outbox
    assert effects.links == [] and draft.payload["links"] == {}
    assert "settings you chose" in draft.payload["text"]


def test_notification_needs_a_decision_id() -> None:
    d = decline()
    d.decision_id = ""
    with pytest.raises(ValueError):
        notification_effects(d, txn(), key=KEY, now=T0, base_url=BASE)


def test_it_was_me_lets_the_retry_through(store: Store) -> None:
    _, payload = _decline_and_notify(store)
    controls = StoreControls(store)
    actions = CardholderActions(store, KEY, controls)
    later = T0 + timedelta(minutes=2)
    result = actions.it_was_me(token_of(payload["links"]["it_was_me"]), later)
    assert "Shoe Palace" in result.message and result.control_id
    retry = txn("t2", amount=85.0, at=later + timedelta(seconds=30))
    o = decided(controls, retry)
    assert o.action is Action.APPROVE and o.reasons[0].code == "cardholder_confirmed"
    too_much = txn("t3", amount=200.0, at=retry.timestamp)
    assert decided(controls, too_much).reasons == []
    next_week = txn("t4", amount=80.0, at=later + timedelta(days=7))
    assert decided(controls, next_week).reasons == []
    labels = store.labels_known_at(later)
    assert [(x.txn_id, x.is_fraud, x.source) for x in labels] == [("t1", False, "cardholder")]
    assert [e.action for e in store.audit_entries(target="tok_card1")] == ["it_was_me"]
    with pytest.raises(LinkError) as err:
        actions.it_was_me(token_of(payload["links"]["it_was_me"]), later)
    assert err.value.problem == "used"
    with pytest.raises(LinkError):
        actions.it_was_me(token_of(payload["links"]["not_me"]), later)


def test_not_me_freezes_and_opens_a_case(store: Store) -> None:
    _, payload = _decline_and_notify(store)
    controls = StoreControls(store)
    actions = CardholderActions(store, KEY, controls)
    actions.it_was_me(token_of(payload["links"]["it_was_me"]), T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=5)
    result = actions.not_me(token_of(payload["links"]["not_me"]), later)
    assert result.case_id and "frozen" in result.message
    retry = txn("t2", at=later + timedelta(minutes=1))
    o = decided(controls, retry)
    assert (o.action, o.response_code) == (Action.DECLINE, "62")
    # The approval given a moment before is withdrawn, not just outranked.
    kinds = [c.kind for c in actions.list_controls("tok_card1", retry.timestamp)]
    assert kinds == ["freeze"]
    case = store.get_case(result.case_id)
    assert case is not None and case.kind == "cardholder_not_me" and case.status == "open"
    assert [e.kind for e in store.case_events(result.case_id)] == ["reported_not_me"]
    assert store.labels_known_at(later)[-1].is_fraud
    assert actions.unfreeze("tok_card1", later + timedelta(hours=1)) == 1
    after = txn("t5", at=later + timedelta(hours=2))
    assert decided(controls, after).reasons == []
    actions_seen = [e.action for e in store.audit_entries(target="tok_card1")]
    assert actions_seen == ["it_was_me", "add_freeze", "not_me", "unfreeze"]


def test_it_was_me_after_not_me_says_the_card_is_frozen_and_changes_nothing(
    store: Store,
) -> None:
    """After "not me" froze the card, "it was me" on another declined payment must not promise
    a retry that will be declined (62), label the payment genuine, nor re-approve anything."""
    first = decline("t1")
    effects = notification_effects(first, txn("t1"), key=KEY, now=T0, base_url=BASE)
    store.record_decision(first, txn("t1"), now=T0, effects=effects)
    second = decline("t2")
    other = txn("t2", merchant_id="m_electro")
    effects = notification_effects(second, other, key=KEY, now=T0, base_url=BASE)
    store.record_decision(second, other, now=T0, effects=effects)
    one, two = (m.payload["links"] for m in store.outbox_messages())
    controls = StoreControls(store)
    actions = CardholderActions(store, KEY, controls)
    later = T0 + timedelta(minutes=3)
    actions.not_me(token_of(one["not_me"]), later)
    labels = list(store.labels_known_at(later))
    audit = [e.action for e in store.audit_entries(target="tok_card1")]
    result = actions.it_was_me(token_of(two["it_was_me"]), later + timedelta(minutes=1))
    assert result.kind == "card_frozen" and result.control_id is None
    assert "frozen" in result.message and "not yours" in result.message
    assert "go through for" not in result.message
    kinds = [c.kind for c in actions.list_controls("tok_card1", later + timedelta(minutes=2))]
    assert kinds == ["freeze"]
    assert list(store.labels_known_at(later + timedelta(minutes=2))) == labels
    assert [e.action for e in store.audit_entries(target="tok_card1")] == audit


def test_cardholder_settings(store: Store) -> None:
    controls = StoreControls(store)
    actions = CardholderActions(store, KEY, controls)
    trip = actions.travel_notice("tok_card1", ["us"], T0, T0 + timedelta(days=10), T0)
    assert trip.value == {"countries": ["US"]}
    t = txn(at=T0 + timedelta(days=1))
    reason = controls.controls_for("tok_card1", t.timestamp).travel(t)
    assert reason is not None
    block = actions.block_channels("tok_card1", ["atm"], T0)
    atm = txn(channel="atm", at=T0 + timedelta(hours=1))
    assert decided(controls, atm).response_code == "57"
    assert actions.revoke("tok_card1", block.control_id, T0 + timedelta(minutes=30))
    assert decided(controls, atm).reasons == []
    actions.allow_merchant("tok_card1", "m_shoes", T0)
    o = decided(controls, txn(at=atm.timestamp))
    assert o.action is Action.APPROVE and o.reasons[0].code == "allowed_merchant"
    actions.block_countries("tok_card1", ["US"], T0)
    actions.freeze("tok_card1", T0, who="agent:ana")
    assert decided(controls, txn(at=atm.timestamp)).response_code == "62"
    assert store.audit_entries(target="tok_card1")[-1].who == "agent:ana"
    with pytest.raises(NotFoundError):
        actions.revoke("tok_card1", "ctl_nope", T0)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.travel_notice("c", ["USA"], T0, T0 + timedelta(days=1), T0),
        lambda a: a.travel_notice("c", ["US"], T0, T0, T0),
        lambda a: a.travel_notice("c", [], T0, T0 + timedelta(days=1), T0),
        lambda a: a.block_channels("c", ["telepathy"], T0),
        lambda a: a.block_countries("c", ["1X"], T0),
        lambda a: a.allow_merchant("c", "", T0),
    ],
)
def test_bad_settings_are_refused(store: Store, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        call(CardholderActions(store, KEY))
    assert store.controls_of("c") == []
