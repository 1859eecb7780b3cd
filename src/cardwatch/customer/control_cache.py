"""``StoreControls``: the engine's ``Controls``, read from the store through a small cache.

Nearly every authorisation asks for its card's controls and nearly every card has none, so the
set of cards that have any is kept in process (one query every few seconds), a card outside it
is answered without the store, and each other card's list is kept for a few seconds. Changes
made through this object drop the card's entry at once, so the next payment reads it from the
store; the time limit bounds how long a change made by another process (another service worker
sharing PostgreSQL) can go unseen. A stale set or list keeps answering while a
:class:`~cardwatch.refresh.Refresher` reloads it off the event loop that decides payments.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from cardwatch.customer.controls import CardControls, active_controls
from cardwatch.refresh import Refresher, Runner, in_thread
from cardwatch.store.base import Store
from cardwatch.store.records import Control

__all__ = ["StoreControls"]


class StoreControls:
    """Controls backed by a ``Store``, with a per-card LRU cache of ``max_cards`` entries."""

    def __init__(
        self,
        store: Store,
        max_cards: int = 100_000,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        refresh: Runner = in_thread,
    ) -> None:
        self.store = store
        self.max_cards = max_cards
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, tuple[Control, ...]]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every invalidation, so that a load that raced with a change is not cached.
        self._generation = 0
        self._with: set[str] = set()
        self._with_loaded = float("-inf")
        self._refresher = Refresher(refresh)

    def controls_for(self, card_id: str, at: datetime) -> CardControls:
        return CardControls(card_id, active_controls(self._all(card_id), at))

    def add(self, control: Control) -> Control:
        """Store a new control and forget the card's cached list."""
        self.store.add_control(control)
        with self._lock:
            self._with.add(control.card_id)
        self.invalidate(control.card_id)
        return control

    def revoke(self, card_id: str, control_id: str, at: datetime) -> bool:
        """Revoke one control (from ``at`` on) and forget the card's cached list."""
        done = self.store.revoke_control(control_id, at)
        self.invalidate(card_id)
        return done

    def invalidate(self, card_id: str | None = None) -> None:
        """Forget one card's controls, or every card's."""
        with self._lock:
            self._generation += 1
            if card_id is None:
                self._cache.clear()
                self._with_loaded = float("-inf")
            else:
                self._cache.pop(card_id, None)

    def _all(self, card_id: str) -> tuple[Control, ...]:
        now = self.clock()
        if self._with_loaded == float("-inf"):
            self._load_with(now)
        elif now - self._with_loaded >= self.ttl_seconds:
            self._refresher.request("cards with controls", lambda: self._load_with(self.clock()))
        if card_id not in self._with:
            return ()
        with self._lock:
            hit = self._cache.get(card_id)
            if hit is not None:
                self._cache.move_to_end(card_id)
        if hit is None:  # never read, or changed through this object: read it now
            return self._load(card_id, now)
        if now - hit[0] >= self.ttl_seconds:
            self._refresher.request(
                ("controls of", card_id), lambda: self._load(card_id, self.clock())
            )
            with self._lock:  # a reload run in this thread has just replaced the entry
                hit = self._cache.get(card_id, hit)
        return hit[1]

    def _load_with(self, now: float) -> None:
        with self._lock:
            generation = self._generation
        cards = self.store.cards_with_controls()
        with self._lock:
            # A control added while the query ran must not drop out of the set.
            self._with = cards if generation == self._generation else cards | self._with
            self._with_loaded = now

    def _load(self, card_id: str, now: float) -> tuple[Control, ...]:
        with self._lock:
            generation = self._generation
        loaded = tuple(self.store.controls_of(card_id))
        with self._lock:
            if generation != self._generation:  # changed while the query ran: not cached
                self._cache.pop(card_id, None)
                return loaded
            self._cache[card_id] = (now, loaded)
            self._cache.move_to_end(card_id)
            while len(self._cache) > self.max_cards:
                self._cache.popitem(last=False)
        return loaded
