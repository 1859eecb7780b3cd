"""Stand-in advices (0120 / 0220) over the ISO listener are recorded with the network's own
decision (DE 39): a declined advice is stored as a decline and counts in the profiles as a
declined attempt, an approved one as an approved payment; a resent advice is applied once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from tests.server.iso.helpers import KEY, TXN, VISA
from tests.server.stores import KINDS, opened

from cardwatch.engine import Engine
from cardwatch.pan import tokenise
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Action, Transaction
from cardwatch.server.iso import IsoClient, IsoListener
from cardwatch.server.iso_handler import ServiceHandler
from cardwatch.service import AuthorisationService
from cardwatch.store.base import Store

DECLINES = FEATURE_INDEX["card_declines_24h"]
COUNT_1H = FEATURE_INDEX["card_txn_count_1h"]
SUM_1H = FEATURE_INDEX["card_amount_sum_1h"]


@pytest.mark.parametrize("kind", KINDS)
def test_advices_record_the_networks_decision(kind: str, tmp_path: Any) -> None:
    with opened(kind, tmp_path) as store:
        _advices(store)


def _advices(store: Store) -> None:
    engine = Engine()
    service = AuthorisationService(engine, store, secret_key=b"s")
    approved = {**TXN, "amount": 30.0}
    declined = {**TXN, "amount": 900.0, "timestamp": TXN["timestamp"] + timedelta(minutes=1)}

    async def scenario() -> None:
        listener = IsoListener(ServiceHandler(service), KEY, "127.0.0.1", 0, timeout_s=3.0)
        async with listener, IsoClient("127.0.0.1", listener.port, timeout_s=5) as client:
            _, ok = await client.advise(approved, VISA, "00")
            request, no = await client.advise(declined, VISA, "51", mti="0220")
            assert (ok["t"], ok["39"], no["t"], no["39"]) == ("0130", "00", "0230", "00")
            again = await client.send({**request, "t": "0221"})  # resent: applied once
            assert again["39"] == "00"
            bad = await client.send({**request, "t": "0120", "39": "??", "11": "000077"})
            assert bad["39"] == "30"

    asyncio.run(scenario())
    card = tokenise(VISA, KEY)
    records = sorted(store.decisions_for_card(card, 10), key=lambda r: r.amount)
    assert [(r.amount, r.decision.action, r.decision.response_code) for r in records] == [
        (30.0, Action.APPROVE, "00"),
        (900.0, Action.DECLINE, "51"),
    ]
    probe = Transaction(
        "probe", TXN["timestamp"] + timedelta(minutes=2), card, 1.0, TXN["merchant_id"]
    )
    x = engine.evaluate(probe).features
    # Both attempts are in the card's windows (every attempt counts, as on the live path), and
    # only the declined one among its declines.
    assert (x[COUNT_1H], x[SUM_1H], x[DECLINES]) == (2, 930.0, 1)
