"""Exposed cardholders are told before they call, once, with a link to check for themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.breach_notices import enqueue_breach_notices
from cardwatch.customer.links import LinkError
from cardwatch.errors import NotFoundError
from cardwatch.store.base import ConflictError, Store
from cardwatch.store.records import Breach, Exposure

from .helpers import BASE, KEY, T0, token_of

START = datetime(2013, 11, 27, tzinfo=UTC)
END = datetime(2013, 12, 15, 23, 59, tzinfo=UTC)


def _breach(store: Store, cards: int = 7) -> Breach:
    breach = store.add_breach(Breach("m_tills", START, END, 0.95, T0))
    store.add_exposures(
        Exposure(breach.breach_id, f"tok_{i}", 1 - i / 100, i + 1, f"cust{i}") for i in range(cards)
    )
    return breach


def test_every_exposed_card_gets_one_notice_in_batches(store: Store) -> None:
    breach = _breach(store)
    n = enqueue_breach_notices(
        store,
        breach.breach_id,
        key=KEY,
        now=T0,
        base_url=BASE,
        what_we_did="We are watching your card closely and will replace it for free on request.",
        merchant_name="Tills & Co",
        batch_size=3,
        channel="email",
    )
    assert n == 7
    messages = store.outbox_messages(limit=100)
    assert sorted(m.card_id for m in messages) == [f"tok_{i}" for i in range(7)]
    assert {m.kind for m in messages} == {"breach_notice"} and {m.channel for m in messages} == {
        "email"
    }
    first = next(m for m in messages if m.card_id == "tok_0")
    text = first.payload["text"]
    for expected in ("Tills & Co", "27 November 2013", "15 December 2013", "watching your card"):
        assert expected in text
    assert first.customer_id == "cust0" and first.payload["rank"] == 1
    stored = store.get_breach(breach.breach_id)
    assert stored is not None and stored.status == "notified"
    with pytest.raises(ConflictError):
        enqueue_breach_notices(
            store, breach.breach_id, key=KEY, now=T0, base_url=BASE, what_we_did="again"
        )
    assert len(store.outbox_messages(limit=100)) == 7


def test_unknown_breach() -> None:
    from cardwatch.store.memory import MemoryStore

    with pytest.raises(NotFoundError):
        enqueue_breach_notices(
            MemoryStore(), "brc_x", key=KEY, now=T0, base_url=BASE, what_we_did=""
        )


def test_check_link_answers_and_can_be_used_again(store: Store) -> None:
    breach = _breach(store, cards=2)
    enqueue_breach_notices(
        store,
        breach.breach_id,
        key=KEY,
        now=T0,
        base_url=BASE,
        what_we_did="Monitoring.",
        exposures=store.exposures(breach.breach_id),
    )
    message = next(m for m in store.outbox_messages() if m.card_id == "tok_1")
    token = token_of(message.payload["links"]["breach_check"])
    actions = CardholderActions(store, KEY)
    check = actions.check_breach(token, T0 + timedelta(days=1))
    assert check.affected and check.merchant_id == "m_tills" and "watch" in check.message
    actions.freeze("tok_1", T0 + timedelta(days=1))
    again = actions.check_breach(token, T0 + timedelta(days=2))
    assert again.affected and "frozen" in again.message
    # No reissue is planned for this card: no replacement is promised.
    assert "replacement" not in again.message and "on its way" not in again.message
    with pytest.raises(LinkError) as err:
        actions.check_breach(token, T0 + timedelta(days=31))
    assert err.value.problem == "expired"
    assert "breach_check" in [e.action for e in store.audit_entries(target="tok_1")]
