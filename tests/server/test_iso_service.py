"""ISO 8583 through the real service: listener → handler → engine → store, over TCP."""

from __future__ import annotations

import asyncio

from tests.server.iso.helpers import KEY, TXN, VISA

from cardwatch.customer.actions import CardholderActions
from cardwatch.customer.engine_controls import EngineControls
from cardwatch.engine import Engine
from cardwatch.server.iso import IsoClient, IsoListener
from cardwatch.server.iso_handler import ServiceHandler
from cardwatch.service import AuthorisationService
from cardwatch.store.memory import MemoryStore


def test_authorise_retry_and_reverse_over_tcp() -> None:
    store = MemoryStore()
    actions = CardholderActions(store, b"secret")
    engine = Engine(controls=EngineControls(actions.controls))
    service = AuthorisationService(engine, store, secret_key=b"secret")

    async def scenario() -> None:
        listener = IsoListener(ServiceHandler(service), KEY, "127.0.0.1", 0, timeout_s=3.0)
        async with listener, IsoClient("127.0.0.1", listener.port, timeout_s=5) as client:
            request, answer = await client.authorise(TXN, VISA)
            assert answer["t"] == "0110" and answer["39"] == "00"
            assert {k: answer[k] for k in ("2", "3", "4", "11", "37", "41", "42")} == {
                k: request[k] for k in ("2", "3", "4", "11", "37", "41", "42")
            }
            again = await client.send(request)  # the network retransmits: same key
            assert again["39"] == "00" and again.get("38") == answer.get("38")
            card = service.store.decisions_for_card(engine_card(request), 10)
            assert len(card) == 1
            _, reversal = await client.reverse(request)
            assert reversal["t"] == "0410" and reversal["39"] == "00"
            assert service.store.decisions_for_card(engine_card(request), 10)[0].reversed

            actions.freeze(engine_card(request), TXN["timestamp"])
            _, frozen = await client.authorise({**TXN, "amount": 5.0}, VISA)
            assert frozen["39"] == "62"

    def engine_card(request: dict[str, str]) -> str:
        from cardwatch.pan import tokenise

        return tokenise(request["2"], KEY)

    asyncio.run(scenario())
