"""The outbox worker delivers, retries with back-off and dead-letters; channels speak for real."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from cardwatch.customer.channels import (
    SIGNATURE_HEADER,
    DeliveryError,
    EmailChannel,
    LogChannel,
    MemoryChannel,
    WebhookChannel,
    verify_signature,
)
from cardwatch.customer.outbox import OutboxWorker, RetryPolicy
from cardwatch.store.base import Store
from cardwatch.store.records import OutboxDraft

from .helpers import KEY, T0, message


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _enqueue(store: Store, channel: str = "memory", n: int = 1) -> list[int]:
    drafts = [
        OutboxDraft("decline", "tok_card1", {"subject": "s", "text": "t", "n": i}, "cust1", channel)
        for i in range(n)
    ]
    return store.enqueue(drafts, T0)


def test_worker_sends_and_marks_sent(store: Store) -> None:
    ids = _enqueue(store, n=3)
    channel = MemoryChannel()
    worker = OutboxWorker(store, {"memory": channel}, clock=Clock(T0))
    report = asyncio.run(worker.run_once())
    assert sorted(report.sent) == ids and report.retried == report.dead == []
    assert sorted(m.payload["n"] for m in channel.sent) == [0, 1, 2]
    assert len(store.outbox_messages(status="sent")) == 3
    assert asyncio.run(worker.run_once()).sent == []


def test_worker_backs_off_then_dead_letters(store: Store) -> None:
    (mid,) = _enqueue(store)
    channel = MemoryChannel(fail_times=10)
    clock = Clock(T0)
    policy = RetryPolicy(max_attempts=3, base=timedelta(seconds=10))
    worker = OutboxWorker(store, {"memory": channel}, policy=policy, clock=clock)
    assert asyncio.run(worker.run_once()).retried == [mid]
    clock.at = T0 + timedelta(seconds=9)
    assert asyncio.run(worker.run_once()).retried == []  # not yet due
    clock.at = T0 + timedelta(seconds=10)
    assert asyncio.run(worker.run_once()).retried == [mid]
    clock.at = T0 + timedelta(seconds=29)
    assert asyncio.run(worker.run_once()).retried == []
    clock.at = T0 + timedelta(seconds=30)
    assert asyncio.run(worker.run_once()).dead == [mid]
    (dead,) = store.outbox_messages(status="dead")
    assert dead.attempts == 3 and "simulated failure 3" in (dead.last_error or "")


def test_worker_recovers_after_transient_failure(store: Store) -> None:
    (mid,) = _enqueue(store)
    channel = MemoryChannel(fail_times=1)
    clock = Clock(T0)
    worker = OutboxWorker(store, {"memory": channel}, clock=clock)
    asyncio.run(worker.run_once())
    clock.at = T0 + timedelta(hours=1)
    assert asyncio.run(worker.run_once()).sent == [mid]


def test_permanent_failure_and_unknown_channel_go_dead_at_once(store: Store) -> None:
    a = _enqueue(store, channel="memory")[0]
    b = _enqueue(store, channel="carrier_pigeon")[0]
    worker = OutboxWorker(
        store, {"memory": MemoryChannel(fail_times=1, permanent=True)}, clock=Clock(T0)
    )
    assert sorted(asyncio.run(worker.run_once()).dead) == sorted([a, b])


def test_run_until_stopped(store: Store) -> None:
    _enqueue(store, n=2)
    channel = MemoryChannel()
    worker = OutboxWorker(store, {"memory": channel}, clock=Clock(T0))

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, interval=0.01))
        for _ in range(200):
            if len(channel.sent) == 2:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 2)

    asyncio.run(main())
    assert len(channel.sent) == 2


def test_log_channel_masks(caplog: pytest.LogCaptureFixture) -> None:
    msg = message({"subject": "Card 4111111111111111", "text": "again 4111 1111 1111 1111"})
    with caplog.at_level(logging.INFO, logger="cardwatch.notify"):
        asyncio.run(LogChannel().send(msg))
    assert "4111111111111111" not in caplog.text and "4111 1111 1111 1111" not in caplog.text
    assert "411111******1111" in caplog.text


# -- webhook ------------------------------------------------------------------------------------


def test_webhook_signs_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    channel = WebhookChannel(
        "https://hooks.example/cw", KEY, transport=httpx.MockTransport(handler)
    )
    asyncio.run(channel.send(message()))
    (request,) = seen
    assert request.method == "POST"
    assert verify_signature(request.content, request.headers[SIGNATURE_HEADER], KEY)
    assert not verify_signature(request.content, request.headers[SIGNATURE_HEADER], b"wrong")
    body = json.loads(request.content)
    assert body["id"] == 7 and body["payload"]["subject"] == "We stopped a payment"


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (410, True)]
)
def test_webhook_errors(status: int, permanent: bool) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status))
    channel = WebhookChannel("https://hooks.example/cw", KEY, transport=transport)
    with pytest.raises(DeliveryError) as err:
        asyncio.run(channel.send(message()))
    assert err.value.permanent is permanent and str(status) in str(err.value)


def test_webhook_connection_error_is_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    channel = WebhookChannel("https://hooks.example/cw", KEY, transport=httpx.MockTransport(refuse))
    with pytest.raises(DeliveryError) as err:
        asyncio.run(channel.send(message()))
    assert not err.value.permanent


class _Receiver(BaseHTTPRequestHandler):
    """Fails the first request with 503, then accepts; sleeps when the path says so."""

    bodies: ClassVar[list[tuple[bytes, str]]] = []
    calls = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls += 1
        if self.path == "/slow":
            threading.Event().wait(1.0)
        status = 503 if type(self).calls == 1 else 200
        if status == 200:
            type(self).bodies.append((body, self.headers[SIGNATURE_HEADER]))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies, _Receiver.calls = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_webhook_to_a_real_server_with_retry(store: Store, receiver: str) -> None:
    (mid,) = _enqueue(store, channel="webhook")
    clock = Clock(T0)
    worker = OutboxWorker(store, {"webhook": WebhookChannel(receiver + "/hook", KEY)}, clock=clock)
    assert asyncio.run(worker.run_once()).retried == [mid]
    clock.at = T0 + timedelta(minutes=5)
    assert asyncio.run(worker.run_once()).sent == [mid]
    ((body, sig),) = _Receiver.bodies
    assert verify_signature(body, sig, KEY) and json.loads(body)["id"] == mid


def test_webhook_timeout(receiver: str) -> None:
    _Receiver.calls = 1  # skip the first-call 503
    channel = WebhookChannel(receiver + "/slow", KEY, timeout=0.2)
    with pytest.raises(DeliveryError) as err:
        asyncio.run(channel.send(message()))
    assert not err.value.permanent and "Timeout" in str(err.value)


# -- e-mail -------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Envelope] = []

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mails.append(envelope)
        return "250 Message accepted"


def _with_smtp(test):  # type: ignore[no-untyped-def]
    """Run ``test(port, inbox)`` inside a loop that also serves SMTP on 127.0.0.1, port 0."""

    async def main() -> None:
        inbox = _Inbox()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
        try:
            await test(server.sockets[0].getsockname()[1], inbox)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_email_over_smtp(store: Store) -> None:
    (mid,) = store.enqueue(
        [
            OutboxDraft(
                "decline",
                "tok_card1",
                {
                    "subject": "We stopped a payment",
                    "text": "Shoe Palace, EUR 80.00",
                    "to": "jo@bank.example",
                },
                "cust1",
                "email",
            )
        ],
        T0,
    )

    async def scenario(port: int, inbox: _Inbox) -> None:
        channel = EmailChannel("127.0.0.1", port, "alerts@bank.example")
        worker = OutboxWorker(store, {"email": channel}, clock=Clock(T0))
        report = await worker.run_once()
        assert report.sent == [mid]
        (mail,) = inbox.mails
        assert mail.rcpt_tos == ["jo@bank.example"]
        content = mail.content.decode() if isinstance(mail.content, bytes) else str(mail.content)
        assert "Subject: We stopped a payment" in content and "Shoe Palace, EUR 80.00" in content

    _with_smtp(scenario)


def test_email_refused_or_missing_address_is_permanent() -> None:
    async def scenario(port: int, inbox: _Inbox) -> None:
        channel = EmailChannel("127.0.0.1", port, "alerts@bank.example")
        with pytest.raises(DeliveryError) as err:
            await channel.send(message({"subject": "s", "text": "t", "to": "x@refused.example"}))
        assert err.value.permanent
        with pytest.raises(DeliveryError) as err:
            await channel.send(message({"subject": "s", "text": "t"}))
        assert err.value.permanent
        assert inbox.mails == []

    _with_smtp(scenario)


def test_email_server_down_is_retried() -> None:
    channel = EmailChannel("127.0.0.1", 1, "alerts@bank.example", timeout=1.0)
    with pytest.raises(DeliveryError) as err:
        asyncio.run(channel.send(message()))
    assert not err.value.permanent
