"""Real TCP round trips through the listener with a fake handler."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from cardwatch.pan import tokenise
from cardwatch.server.iso import (
    IsoAnswer,
    IsoClient,
    IsoListener,
    IsoRequest,
    MessageKind,
    StandInPolicy,
)
from cardwatch.server.iso.codec import ECHOED_FIELDS
from cardwatch.server.iso.framing import frame

from .helpers import (
    KEY,
    MASTERCARD,
    TIMEOUT,
    TXN,
    VISA,
    ScriptedHandler,
    connected,
    encoded,
    request_fields,
    run,
    serving,
)


def test_approve_and_decline_echo_the_request() -> None:
    handler = ScriptedHandler(limit=100.0)

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            sent, answer = await client.authorise(TXN, VISA)
            assert answer["t"] == "0110" and answer["39"] == "00" and len(answer["38"]) == 6
            for name in ECHOED_FIELDS:
                assert answer[name] == sent[name], name
            sent, answer = await client.authorise({**TXN, "amount": 900.0}, MASTERCARD)
            assert answer["39"] == "05" and "38" not in answer
            assert answer["2"] == MASTERCARD and answer["11"] == sent["11"]
            _, answer = await client.authorise(TXN, VISA, mti="0200")
            assert answer["t"] == "0210"

    run(scenario)
    assert [r.card_id for r in handler.authorised][:2] == [
        tokenise(VISA, KEY),
        tokenise(MASTERCARD, KEY),
    ]


def test_reversal_reaches_reverse_with_the_original_key() -> None:
    handler = ScriptedHandler()

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            original, _ = await client.authorise(TXN, VISA)
            _, answer = await client.reverse(original)
            assert answer["t"] == "0410" and answer["39"] == "00"
            _, answer = await client.reverse(original, mti="0420", with_original_data=False)
            assert answer["t"] == "0430"

    run(scenario)
    first_key = handler.authorised[0].retry_key
    with_de90, without = handler.reversed
    assert with_de90.original is not None and with_de90.original.retry_key == first_key
    assert without.original is not None and without.original.stan == first_key.stan  # type: ignore[union-attr]
    assert without.original.rrn == first_key.rrn  # type: ignore[union-attr]


def test_advice_reaches_advice() -> None:
    handler = ScriptedHandler()

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            _, answer = await client.advise(TXN, VISA, "05")
            assert answer["t"] == "0130" and answer["39"] == "00"

    run(scenario)
    assert [r.kind for r in handler.advices] == [MessageKind.ADVICE] and not handler.authorised
    assert handler.advices[0].response_code == "05"


def test_network_management_echo_sign_on_sign_off() -> None:
    handler = ScriptedHandler()

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            for call, code in (
                (client.sign_on, "001"),
                (client.echo, "301"),
                (client.sign_off, "002"),
            ):
                answer = await call()
                assert (answer["t"], answer["39"], answer["70"]) == ("0810", "00", code)
            assert listener.counters.network_messages == 3

    run(scenario)
    assert not handler.authorised


def test_answers_go_out_of_order_each_with_its_stan() -> None:
    handler = ScriptedHandler()
    handler.delays = {"000001": 1.0}

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            slow = asyncio.create_task(client.authorise(TXN, VISA, stan="000001"))
            await asyncio.sleep(0.05)
            _, fast = await client.authorise(TXN, MASTERCARD, stan="000002")
            assert not slow.done()  # the second answer overtook the first
            _, late = await slow
            assert (fast["11"], fast["2"]) == ("000002", MASTERCARD)
            assert (late["11"], late["2"]) == ("000001", VISA)

    run(scenario)


def test_a_slow_handler_gets_a_stand_in_answer_within_the_timeout() -> None:
    handler = ScriptedHandler()
    handler.delays = {"000001": 30.0, "000002": 30.0}
    seen: list[tuple[str, str, str]] = []

    async def scenario() -> None:
        async with (
            serving(
                handler,
                timeout_s=0.2,
                stand_in=StandInPolicy(floor=50.0),
                on_stand_in=lambda r, a, why: seen.append((r.stan, a.response_code, why)),
            ) as listener,
            connected(listener) as client,
        ):
            started = time.monotonic()
            _, small = await client.authorise({**TXN, "amount": 20.0}, VISA, stan="000001")
            _, large = await client.authorise({**TXN, "amount": 500.0}, VISA, stan="000002")
            assert time.monotonic() - started < 30.0  # answered long before the handler would
            assert small["39"] == "00" and len(small["38"]) == 6
            assert large["39"] == "91"
            assert listener.counters.stand_in_timeout == 2

    run(scenario)
    assert seen == [("000001", "00", "timeout"), ("000002", "91", "timeout")]


def test_a_handler_ignoring_cancellation_does_not_delay_the_answer() -> None:
    handler = ScriptedHandler()
    handler.stubborn = {"000001"}

    async def scenario() -> None:
        async with serving(handler, timeout_s=0.2) as listener, connected(listener) as client:
            _, answer = await client.authorise({**TXN, "amount": 500.0}, VISA, stan="000001")
            assert answer["39"] == "91"

    run(scenario)


@pytest.mark.parametrize("reply", [RuntimeError("engine down"), "not an answer"])
def test_a_failing_handler_gets_a_stand_in_answer(reply: object) -> None:
    handler = ScriptedHandler()
    if isinstance(reply, BaseException):
        handler.failures = {"000001": reply}
    else:
        handler.replies = {"000001": reply}

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            _, answer = await client.authorise({**TXN, "amount": 500.0}, VISA, stan="000001")
            assert answer["39"] == "91"
            assert listener.counters.stand_in_error == 1
            _, answer = await client.authorise(TXN, VISA, stan="000002")  # the link goes on
            assert answer["39"] == "00"

    run(scenario)


def test_reversal_the_handler_cannot_take_is_answered_96() -> None:
    class Broken(ScriptedHandler):
        async def reverse(self, request: IsoRequest) -> IsoAnswer:
            raise RuntimeError("store down")

    async def scenario() -> None:
        async with serving(Broken()) as listener, connected(listener) as client:
            original, _ = await client.authorise(TXN, VISA)
            _, answer = await client.reverse(original)
            assert answer["39"] == "96"  # so that the acquirer sends it again

    run(scenario)


def test_malformed_messages_on_a_connection_that_goes_on() -> None:
    handler = ScriptedHandler()

    async def scenario() -> None:
        async with serving(handler) as listener, connected(listener) as client:
            bad_amount = {**request_fields(stan="000010"), "4": "0000000ABC00"}
            answer = await client.request_raw(encoded(bad_amount), "000010")
            assert (answer["t"], answer["11"], answer["39"]) == ("0110", "000010", "30")
            assert answer["2"] == VISA  # echoed as received
            await client.write_bytes(frame(b"\x00\x01garbage that is not ISO 8583"))
            await client.write_bytes(frame(b"0100"))
            _, answer = await client.authorise(TXN, VISA, stan="000011")
            assert answer["39"] == "00"
            assert listener.counters.malformed_dropped == 2
            assert listener.counters.rejected_messages == 1
            assert not client.unmatched

    run(scenario)
    assert len(handler.authorised) == 1


def test_bad_frames_do_not_affect_another_connection() -> None:
    handler = ScriptedHandler()

    async def scenario() -> None:
        async with serving(handler, max_frame=256) as listener, connected(listener) as good:
            async with connected(listener) as bad:
                await bad.write_bytes(frame(b"x" * 1000))  # oversized: skipped
                _, answer = await bad.authorise(TXN, VISA)  # ... and that link goes on
                assert answer["39"] == "00"
                _, answer = await good.authorise(TXN, MASTERCARD)
                assert answer["39"] == "00"
                await bad.write_bytes(b"\x00\x40" + b"only part of the frame")
                assert bad._writer is not None
                bad._writer.write_eof()  # truncated frame at EOF: that connection closes
                async with asyncio.timeout(TIMEOUT):
                    while listener.counters.truncated_frames == 0:
                        await asyncio.sleep(0.01)
            _, answer = await good.authorise(TXN, MASTERCARD)
            assert answer["39"] == "00"
            assert listener.counters.oversized_frames == 1
            async with connected(listener) as fresh:
                assert (await fresh.echo())["39"] == "00"

    run(scenario)


def test_pan_never_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    handler = ScriptedHandler(limit=100.0)
    handler.delays = {"000003": 30.0}
    handler.failures = {"000004": RuntimeError(f"engine choked on {VISA}")}

    async def scenario() -> None:
        async with serving(handler, timeout_s=0.2) as listener, connected(listener) as client:
            await client.authorise(TXN, VISA, stan="000001")
            await client.authorise({**TXN, "amount": 900.0}, MASTERCARD, stan="000002")
            await client.authorise(TXN, VISA, stan="000003")
            await client.authorise(TXN, MASTERCARD, stan="000004")
            bad = {**request_fields(MASTERCARD, stan="000005"), "49": "999"}
            await client.request_raw(encoded(bad), "000005")
            luhn = {**request_fields(stan="000006"), "2": "4111111111111112"}
            await client.request_raw(encoded(luhn), "000006")
            await client.write_bytes(frame(encoded(request_fields(VISA))[:30]))
            await client.echo()

    with caplog.at_level(logging.DEBUG, logger="cardwatch"):
        run(scenario)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "411111******1111" in text  # the masked form is logged, so the scan is not vacuous
    for pan in (VISA, MASTERCARD, "4111111111111112"):
        assert pan not in text


def test_stop_answers_in_flight_and_closes() -> None:
    handler = ScriptedHandler()
    handler.delays = {"000001": 0.1}

    async def scenario() -> None:
        async with serving(handler) as listener:
            client = await IsoClient("127.0.0.1", listener.port, timeout_s=TIMEOUT).connect()
            pending = asyncio.create_task(client.authorise(TXN, VISA, stan="000001"))
            await asyncio.sleep(0.02)
        _, answer = await pending
        assert answer["39"] == "00"
        with pytest.raises(ConnectionError):
            await client.echo()
        await client.close()

    run(scenario)


def test_a_connection_past_its_in_flight_limit_is_paused_not_dropped() -> None:
    handler = ScriptedHandler()
    handler.delays = {f"{i:06d}": 0.05 for i in range(1, 9)}

    async def scenario() -> None:
        async with serving(handler, max_in_flight=2) as listener, connected(listener) as client:
            calls = [client.authorise(TXN, VISA, stan=f"{i:06d}") for i in range(1, 9)]
            answers = await asyncio.gather(*calls)
            assert sorted(a["11"] for _, a in answers) == [f"{i:06d}" for i in range(1, 9)]
            assert {a["39"] for _, a in answers} == {"00"}
            assert listener.counters.stand_in == 0

    run(scenario)


def test_serve_forever_serves_until_cancelled() -> None:
    async def scenario() -> None:
        listener = IsoListener(ScriptedHandler(), KEY, "127.0.0.1", 0)
        await listener.start()
        serving_task = asyncio.create_task(listener.serve_forever())
        async with connected(listener) as client:
            assert (await client.sign_on())["39"] == "00"
        serving_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving_task
        with pytest.raises(RuntimeError):
            _ = listener.port  # stopped: nothing bound any more

    run(scenario)
