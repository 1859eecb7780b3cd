"""``WriteTurns``: the writers of one process take turns at a SQLite file, first come first
served, instead of meeting in SQLite's busy handler.

SQLite has one writer at a time. A second connection that wants to write sleeps in its busy
handler — 1, 2, 5, 10, 15 … ms — and tries again. Under load the group-commit writer holds the
write lock nearly all the time, so the outbox worker slept; and when the outbox worker held the
lock while it waited for the interpreter lock, the group-commit writer slept in turn, 30 ms and
more, with every answer of its batch waiting (strace showed the sleeps, the p99 showed the
wait). Writers of one process queue here instead and are handed the turn as the previous one
ends; writers of other processes still meet in the busy handler.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from types import TracebackType

__all__ = ["WriteTurns"]

_REGISTRY: dict[str, WriteTurns] = {}
_REGISTRY_LOCK = threading.Lock()


class WriteTurns:
    """A first-come, first-served lock: ``release`` hands the turn to the longest waiter, so
    a writer that comes straight back (the group-commit writer) cannot keep the others out.

    >>> turns = WriteTurns()
    >>> with turns:
    ...     turns.held
    True
    >>> turns.held
    False
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self.held = False

    @classmethod
    def for_database(cls, path: str) -> WriteTurns:
        """The turns of one database file, shared by every store of this process that opens it
        (the service's, and any other the same process opens on the same workspace)."""
        key = os.path.realpath(path)
        with _REGISTRY_LOCK:
            turns = _REGISTRY.get(key)
            if turns is None:
                turns = _REGISTRY[key] = cls()
            return turns

    def acquire(self) -> None:
        with self._guard:
            if not self.held:
                self.held = True
                return
            baton = threading.Lock()
            baton.acquire()
            self._waiting.append(baton)
        baton.acquire()  # released by the holder that hands us the turn

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # the turn passes on, still held
            else:
                self.held = False

    def __enter__(self) -> WriteTurns:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
