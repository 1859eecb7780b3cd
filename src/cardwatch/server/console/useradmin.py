"""Creating users, shared by the console's admin page and ``cardwatch users add``."""

from __future__ import annotations

import re
from datetime import datetime

from cardwatch.server.console.errors import ActionRefused
from cardwatch.server.console.passwords import check_strength, hash_password
from cardwatch.server.console.roles import ROLES
from cardwatch.store.base import Store
from cardwatch.store.records import User

__all__ = ["USERNAME", "add_user"]

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


def add_user(store: Store, username: str, password: str, role: str, now: datetime) -> User:
    """Validate and store a new user with an Argon2id hash. Raises ``ActionRefused`` with the
    reason for a bad name, role or password, ``ConflictError`` for a taken name."""
    if not USERNAME.match(username):
        raise ActionRefused("a user name is 2-64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise ActionRefused(f"role must be one of {', '.join(ROLES)}")
    problem = check_strength(password)
    if problem:
        raise ActionRefused(problem)
    user = User(username, hash_password(password), role, now)
    store.add_user(user)
    return user
