"""The triage policy: a thief's evidence blocks a card, ordinary shopping after a breach never does,
and every exposed card has a reissue wave, victims first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from cardwatch.breach.exposure import Exposure, triage
from cardwatch.breach.response import (
    BLOCK_AND_REISSUE,
    MONITOR,
    REISSUE,
    EngineSignals,
    ResponsePolicy,
    plan_response,
)
from cardwatch.breach.suspect import Suspect
from cardwatch.schema import HISTORY_SCHEMA

START = datetime(2013, 11, 27, tzinfo=UTC)
END = datetime(2013, 12, 15, tzinfo=UTC)
AS_OF = datetime(2013, 12, 20, tzinfo=UTC)


def _history() -> pa.Table:
    rows: list[dict] = []

    def pay(card, day, merchant="LOCAL", amount=20.0, country="FR", channel="card_present",
            entry="chip", fraud=None, reported=None):  # fmt: skip
        rows.append(
            {
                "txn_id": f"t{len(rows)}",
                "timestamp": START + timedelta(days=day, hours=12),
                "card_id": card,
                "amount": amount,
                "merchant_id": merchant,
                "customer_id": "u" + card,
                "currency": "EUR",
                "merchant_name": merchant,
                "merchant_country": country,
                "channel": channel,
                "entry_mode": entry,
                "is_fraud": fraud,
                "fraud_reported_at": reported,
            }
        )

    cards = ("shopper", "victim", "cloned", "traveller", "spender", "quiet")
    for card in cards:
        for day in range(-40, 0, 2):
            pay(card, day, amount=20.0)
            pay(card, day, merchant="WEBSHOP", channel="ecommerce", entry="ecommerce", amount=15.0)
        pay(card, 1, merchant="BM1")  # exposed at the breached till
    for day in range(2, 20):  # an honest online shopper, busier than ever after the breach
        pay("shopper", day, merchant="WEBSHOP", channel="ecommerce", entry="ecommerce")
        pay("shopper", day, merchant="STREAMING", channel="ecommerce", entry="ecommerce")
    pay("victim", 10, merchant="WEB9", country="US", channel="ecommerce", entry="ecommerce",
        amount=300.0, fraud=1, reported=START + timedelta(days=14))  # fmt: skip
    pay("cloned", 12, merchant="ATM-NY", country="US", entry="magstripe", amount=400.0)
    # A trip to the US: chip payments there, and one at a magstripe-only terminal.
    pay("traveller", 8, merchant="DINER", country="US", entry="chip")
    pay("traveller", 9, merchant="PARKING", country="US", entry="magstripe", amount=5.0)
    pay("spender", 9, merchant="SOFAS", channel="ecommerce", entry="ecommerce", amount=900.0)
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)


def _suspect() -> Suspect:
    return Suspect(
        "BM1", "store", None, ("BM1",), (), START, END, 9.0, 1e-6, 2, 6, 0.1, START, 1.0, 10
    )


def _plan(signals=None, policy=None):
    table = _history()
    cards = ("cloned", "quiet", "shopper", "spender", "traveller", "victim")
    exp = Exposure(("BM1",), START, END, cards, 6, 6)
    rows = triage(table, exp, AS_OF)
    return plan_response(_suspect(), exp, rows, AS_OF, signals=signals, policy=policy)


def test_evidence_blocks_and_ordinary_shopping_does_not() -> None:
    plan = _plan()
    action = {c.card_id: c.action for c in plan.cards}
    assert action["victim"] == BLOCK_AND_REISSUE  # fraud reported
    assert action["cloned"] == BLOCK_AND_REISSUE  # magstripe abroad, never a chip there
    assert action["shopper"] == MONITOR  # 36 online payments since the breach: ordinary
    assert action["traveller"] == MONITOR  # magstripe in the US, but the chip was there too
    assert action["spender"] == REISSUE  # 45x the usual, online, at a new merchant
    assert action["quiet"] == MONITOR
    by_card = {c.card_id: c for c in plan.cards}
    assert by_card["cloned"].magstripe_abroad == 1 and by_card["traveller"].magstripe_abroad == 0
    assert by_card["traveller"].new_countries == 1
    assert [c.card_id for c in plan.cards[:2]] == ["victim", "cloned"]  # victims first
    assert plan.counts == {BLOCK_AND_REISSUE: 2, REISSUE: 1, MONITOR: 3}


def test_engine_signals_and_waves() -> None:
    signals = {
        "quiet": EngineSignals(declines=3, score_after=0.2, score_before=0.1),
        "shopper": EngineSignals(declines=1, score_after=0.2, score_before=0.1),
        "traveller": EngineSignals(declines=0, score_after=0.9, score_before=0.05),
    }
    plan = _plan(signals, ResponsePolicy(wave_size=1))
    by_card = {c.card_id: c for c in plan.cards}
    assert by_card["quiet"].action == BLOCK_AND_REISSUE and by_card["quiet"].declines == 3
    assert by_card["shopper"].action == REISSUE  # one decline: the second wave, not a block
    assert by_card["traveller"].action == BLOCK_AND_REISSUE  # score far above its own before
    waves = [(c.action, c.wave) for c in plan.cards]
    assert [w for a, w in waves if a == BLOCK_AND_REISSUE] == [1] * 4
    assert [w for a, w in waves if a == REISSUE] == [2, 2]
    assert [w for a, w in waves if a == MONITOR] == []  # every card has evidence here
    assert [c.rank for c in plan.cards] == list(range(1, 7))
    row = plan.rows()[0]
    assert row["wave"] == 1 and "new_countries" in row and "score_after" in row


def test_monitored_cards_are_reissued_in_waves_by_rank() -> None:
    plan = _plan(policy=ResponsePolicy(wave_size=2))
    monitored = [c for c in plan.cards if c.action == MONITOR]
    assert [c.wave for c in monitored] == [3, 3, 4]
    assert all(a.rank < b.rank for a, b in itertools.pairwise(monitored))
