"""``Refresher``: reloads of in-process caches, run off the thread that noticed them stale.

The service decides new payments on its event loop. The caches that a decision reads (the
cards with controls, each such card's controls, the exposed cards of open breaches) go stale
after a few seconds so that changes made by other processes are seen; a reload is a store
query, and running it inside a decision would stall every authorisation behind it. So a stale
cache keeps answering from what it holds while one reload per key runs in a daemon thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

__all__ = ["Refresher", "in_thread", "run_now"]

log = logging.getLogger(__name__)

Runner = Callable[[Callable[[], None]], None]


def in_thread(job: Callable[[], None]) -> None:
    """Run ``job`` in a new daemon thread (reloads are rare: every few seconds at most)."""
    threading.Thread(target=job, name="cardwatch-cache-refresh", daemon=True).start()


def run_now(job: Callable[[], None]) -> None:
    """Run ``job`` in the caller's thread: for tools and tests that want a stale cache reloaded
    before it answers."""
    job()


class Refresher:
    """At most one pending reload per key; a failed reload leaves the cached copy in place."""

    def __init__(self, run: Runner = in_thread) -> None:
        self._run = run
        self._pending: set[Hashable] = set()
        self._lock = threading.Lock()

    def request(self, key: Hashable, load: Callable[[], None]) -> None:
        """Reload ``key`` with ``load`` unless a reload of it is already under way."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def job() -> None:
            try:
                load()
            except Exception:  # the store may be briefly unreachable: keep serving the copy
                log.warning("cache reload %r failed; the cached copy stays", key, exc_info=True)
            finally:
                with self._lock:
                    self._pending.discard(key)

        self._run(job)
