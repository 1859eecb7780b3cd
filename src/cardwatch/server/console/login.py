"""Logging in: password check, lock-out after repeated failures, audit of every attempt.

PCI DSS 8.3.4 asks that an account lock after at most 10 failed attempts for at least 30
minutes; 10.2 that every failed log-in be logged. Both happen here, away from the handler.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cardwatch.pan import safe_text
from cardwatch.server.console.context import Console
from cardwatch.server.console.passwords import verify_password
from cardwatch.store.records import User

__all__ = ["LOCKOUT", "MAX_FAILURES", "LoginGuard", "attempt_login"]

MAX_FAILURES = 10
LOCKOUT = timedelta(minutes=30)


@dataclass
class LoginGuard:
    """Recent failed attempts per user name, in this process."""

    failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def locked(self, username: str, now: datetime) -> bool:
        recent = self.failures.get(username)
        if not recent:
            return False
        while recent and now - recent[0] > LOCKOUT:
            recent.popleft()
        return len(recent) >= MAX_FAILURES

    def failed(self, username: str, now: datetime) -> None:
        self.failures.setdefault(username, deque()).append(now)

    def succeeded(self, username: str) -> None:
        self.failures.pop(username, None)


def _guard(console: Console) -> LoginGuard:
    guard = console.cache.get("login_guard")
    if guard is None:
        guard = console.cache["login_guard"] = LoginGuard()
    return guard


def attempt_login(console: Console, username: str, password: str, client: str) -> User | None:
    """The user when the password is right and the account not locked; every attempt audited."""
    now = console.now()
    name = safe_text(username.strip())[:128]
    guard = _guard(console)
    if guard.locked(name, now):
        console.audit(name or "?", "login_refused_locked", f"user:{name}", client=client)
        return None
    user = console.store.get_user(name)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        guard.failed(name, now)
        console.audit(name or "?", "login_failed", f"user:{name}", client=client)
        return None
    guard.succeeded(name)
    console.audit(user.username, "login", f"user:{user.username}", client=client)
    return user
