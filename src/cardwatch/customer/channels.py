"""Delivery channels for outbox messages: log, webhook (signed JSON), e-mail (SMTP), memory.

A channel has one coroutine, ``send(message)``, which returns when the message was accepted and
raises ``DeliveryError`` when not; ``permanent`` tells the worker not to retry (a refused address,
a 4xx from a webhook). Sockets live only in ``WebhookChannel`` (httpx, so tests pass a
``MockTransport``) and ``EmailChannel`` (stdlib smtplib in a thread).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from cardwatch.errors import CardwatchError
from cardwatch.pan import mask_pans_in
from cardwatch.store.records import OutboxMessage

__all__ = [
    "SIGNATURE_HEADER",
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "LogChannel",
    "MemoryChannel",
    "WebhookChannel",
    "envelope",
    "signature",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Cardwatch-Signature"
log = logging.getLogger("cardwatch.notify")


class DeliveryError(CardwatchError):
    """A message was not delivered; ``permanent`` means retrying will not help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class Channel(Protocol):
    name: str

    async def send(self, message: OutboxMessage) -> None: ...


def envelope(message: OutboxMessage) -> dict[str, Any]:
    """What a receiver gets: the message's identity (for deduplication) and its payload."""
    return {
        "id": message.id,
        "kind": message.kind,
        "card_id": message.card_id,
        "customer_id": message.customer_id,
        "created_at": message.created_at.isoformat(),
        "payload": message.payload,
    }


def signature(body: bytes, key: bytes) -> str:
    """The ``X-Cardwatch-Signature`` value: HMAC-SHA256 of the exact body bytes.

    >>> signature(b'{"a":1}', b"k")[:7]
    'sha256='
    """
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, key: bytes) -> bool:
    """For receivers: does the header match the body under the shared key (constant time)?

    >>> verify_signature(b"x", signature(b"x", b"k"), b"k")
    True
    >>> verify_signature(b"y", signature(b"x", b"k"), b"k")
    False
    """
    return hmac.compare_digest(header.encode(), signature(body, key).encode())


class LogChannel:
    """Writes the message to the log (the default: a laptop trial needs no mail server)."""

    name = "log"

    def __init__(self, logger: logging.Logger = log) -> None:
        self.logger = logger

    async def send(self, message: OutboxMessage) -> None:
        subject = message.payload.get("subject", message.kind)
        text = message.payload.get("text", "")
        self.logger.info(mask_pans_in(f"notify card={message.card_id} #{message.id}: {subject}"))
        self.logger.debug(mask_pans_in(text))


class MemoryChannel:
    """Keeps what it was given; fails the first ``fail_times`` sends (for the worker's tests)."""

    def __init__(self, name: str = "memory", fail_times: int = 0, permanent: bool = False) -> None:
        self.name = name
        self.fail_times = fail_times
        self.permanent = permanent
        self.sent: list[OutboxMessage] = []
        self.attempts = 0

    async def send(self, message: OutboxMessage) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise DeliveryError(f"simulated failure {self.attempts}", self.permanent)
        self.sent.append(message)


class WebhookChannel:
    """POSTs the envelope as JSON, signed with the secret key, to the issuer's endpoint."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        key: bytes,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout
        self.transport = transport

    async def send(self, message: OutboxMessage) -> None:
        body = json.dumps(envelope(message), separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(body, self.key),
            "X-Cardwatch-Message-Id": str(message.id),
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        status = response.status_code
        # Retry what may heal (server errors, timeouts, rate limits); not what will not.
        permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
        raise DeliveryError(f"webhook: HTTP {status}", permanent=permanent)


class EmailChannel:
    """Sends plain-text e-mail over SMTP (stdlib ``smtplib``, run in a worker thread)."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        address_for: Callable[[OutboxMessage], str | None] | None = None,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.address_for = address_for or (lambda m: m.payload.get("to"))
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout

    def build(self, message: OutboxMessage, to: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = mask_pans_in(str(message.payload.get("subject", "A message from us")))
        mail["Message-ID"] = f"<cardwatch-{message.id}-{message.kind}@{self.host}>"
        mail.set_content(mask_pans_in(str(message.payload.get("text", ""))))
        return mail

    async def send(self, message: OutboxMessage) -> None:
        to = self.address_for(message)
        if not to:
            raise DeliveryError("email: no address for this cardholder", permanent=True)
        await asyncio.to_thread(self._send_sync, self.build(message, to))

    def _send_sync(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"email: recipient refused: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}: {exc}") from exc
