"""Password hashing with Argon2id (argon2-cffi), shared by the console and ``cardwatch users``.

Argon2id is memory-hard, so a stolen users table is expensive to brute-force; the parameters
live in the hash itself, so they can be raised later and old hashes upgraded on the next log-in
(``needs_rehash``).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MIN_LENGTH", "check_strength", "hash_password", "needs_rehash", "verify_password"]

MIN_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name takes as long as a wrong
# password and log-in timing does not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("cardwatch-dummy-password")


def hash_password(password: str) -> str:
    """An Argon2id hash (with its salt and parameters) of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch, a missing user or a broken hash.

    >>> verify_password(hash_password("correct horse"), "correct horse")
    True
    >>> verify_password(None, "anything")
    False
    """
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_strength(password: str) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable.

    >>> check_strength("short")
    'a password needs at least 10 characters'
    >>> check_strength("long enough pass") is None
    True
    """
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    return None
