"""Sessions as signed cookies, and the per-session CSRF token.

A session is a small JSON payload (user name, random session id, expiry) signed with HMAC-SHA256
under the workspace's secret key, so the server keeps no session table and several console
processes share sessions. The role is *not* in the cookie: it is read from the store on every
request, so demoting a user takes effect at once. Log-out revokes the session id in this process
and clears the cookie; expiry bounds what a stolen cookie is worth everywhere else.

The CSRF token is derived from the session id (HMAC under the same key, with another purpose
label), so it needs no storage either, and is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Session", "SessionSigner"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    session_id: str
    expires_at: float

    def expired(self, now: datetime) -> bool:
        return now.timestamp() >= self.expires_at


class SessionSigner:
    """Issues, reads and revokes session cookies; derives and checks CSRF tokens.

    >>> from datetime import UTC, datetime
    >>> signer = SessionSigner(b"k" * 32, ttl_seconds=60)
    >>> now = datetime(2024, 1, 1, tzinfo=UTC)
    >>> cookie = signer.issue("ana", now)
    >>> signer.read(cookie, now).username
    'ana'
    >>> signer.read(cookie + "x", now) is None
    True
    """

    def __init__(self, key: bytes, ttl_seconds: int = 8 * 3600) -> None:
        self.key = key
        self.ttl_seconds = ttl_seconds
        self._revoked: set[str] = set()

    def _mac(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}|{data}".encode(), hashlib.sha256).digest())

    def issue(self, username: str, now: datetime) -> str:
        payload = {
            "u": username,
            "sid": secrets.token_urlsafe(18),
            "exp": now.timestamp() + self.ttl_seconds,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac('session', body)}"

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        """The session in ``cookie``, or None when missing, forged, expired or revoked."""
        if not cookie or "." not in cookie:
            return None
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            session = Session(str(payload["u"]), str(payload["sid"]), float(payload["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expired(now) or session.session_id in self._revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        self._revoked.add(session.session_id)

    def csrf_token(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def csrf_valid(self, session_id: str, token: str | None) -> bool:
        """Constant-time check of a submitted token against the session's."""
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session_id))
