"""Signed, expiring, single-use links for cardholders ("it was me", "not me", "am I affected").

A token is ``base64url(claims) . base64url(HMAC-SHA256(key, claims))`` where the claims are the
link id, its kind, the card token and the expiry. The signature means nobody can forge a link or
stretch its life without the workspace's secret key; the expiry means a forwarded old e-mail is
harmless; single use is enforced by the store (``consume_link`` is one conditional UPDATE), so a
link cannot be replayed even by someone who copied it. The card appears only as its token.

Receivers should show a confirmation page on GET and act on POST: mail scanners follow links, and
a GET that froze a card would let them do it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cardwatch.errors import CardwatchError
from cardwatch.store.base import Store
from cardwatch.store.records import Link

__all__ = [
    "LINK_KINDS",
    "LinkClaims",
    "LinkError",
    "link_url",
    "new_link",
    "redeem",
    "sign",
    "verify",
]

LINK_KINDS = ("it_was_me", "not_me", "breach_check")
_DOMAIN = b"cardwatch-link-v1\n"


class LinkError(CardwatchError):
    """A link cannot be used; ``problem`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, problem: str, message: str) -> None:
        self.problem = problem
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a verified token says."""

    link_id: str
    kind: str
    card_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, claims: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + claims, hashlib.sha256).digest()


def new_link(kind: str, card_id: str, scope: dict[str, Any], now: datetime, ttl: timedelta) -> Link:
    """A link record (not yet stored) valid from ``now`` for ``ttl``, to the second."""
    if kind not in LINK_KINDS:
        raise ValueError(f"unknown link kind {kind!r}")
    expires = (now + ttl).replace(microsecond=0)
    return Link(kind, card_id, scope, expires, now)


def sign(link: Link, key: bytes) -> str:
    """The token for a link.

    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> link = Link("not_me", "tok_1", {}, now + timedelta(hours=1), now, link_id="lnk_1")
    >>> token = sign(link, b"k")
    >>> verify(token, b"k", now).link_id
    'lnk_1'
    """
    expires = int(link.expires_at.timestamp())
    claims = json.dumps([link.link_id, link.kind, link.card_id, expires], separators=(",", ":"))
    raw = claims.encode()
    return f"{_b64(raw)}.{_b64(_mac(key, raw))}"


def verify(token: str, key: bytes, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; ``LinkError`` otherwise.

    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> link = Link("not_me", "tok_1", {}, now + timedelta(hours=1), now, link_id="lnk_1")
    >>> verify(sign(link, b"k"), b"other key", now)
    Traceback (most recent call last):
    ...
    cardwatch.customer.links.LinkError: this link is not valid
    >>> verify(sign(link, b"k"), b"k", now + timedelta(hours=2))
    Traceback (most recent call last):
    ...
    cardwatch.customer.links.LinkError: this link has expired
    """
    try:
        claims_part, mac_part = token.split(".")
        raw = _unb64(claims_part)
        given = _unb64(mac_part)
    except (ValueError, TypeError):
        raise LinkError("invalid", "this link is not valid") from None
    if not hmac.compare_digest(given, _mac(key, raw)):
        raise LinkError("invalid", "this link is not valid")
    link_id, kind, card_id, expires = json.loads(raw)
    claims = LinkClaims(link_id, kind, card_id, datetime.fromtimestamp(expires, UTC))
    if now >= claims.expires_at:
        raise LinkError("expired", "this link has expired")
    return claims


def redeem(store: Store, token: str, key: bytes, now: datetime, kind: str) -> Link:
    """Verify a token of the expected ``kind`` and use its link up, once; the stored link.

    Raises ``LinkError`` (``invalid``, ``expired`` or ``used``).
    """
    claims = verify(token, key, now)
    if claims.kind != kind:
        raise LinkError("invalid", "this link is not valid")
    link = store.consume_link(claims.link_id, now)
    if link is None:
        stored = store.get_link(claims.link_id)
        if stored is None:
            raise LinkError("invalid", "this link is not valid")
        if stored.used_at is not None:
            raise LinkError("used", "this link has already been used")
        raise LinkError("expired", "this link has expired")
    if (link.kind, link.card_id) != (claims.kind, claims.card_id):
        raise LinkError("invalid", "this link is not valid")
    return link


def link_url(base_url: str, token: str) -> str:
    """Where a token is sent to: ``<base>/l/<token>`` (the HTTP API serves that path).

    >>> link_url("https://bank.example/cardwatch/", "abc.def")
    'https://bank.example/cardwatch/l/abc.def'
    """
    return f"{base_url.rstrip('/')}/l/{token}"
