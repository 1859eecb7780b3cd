"""The engine's exposed set held in process: a stale set answers while it reloads elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cardwatch.respond import StoreExposure, respond
from cardwatch.store.history import History
from cardwatch.store.memory import MemoryStore

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)
NOW = datetime(2014, 1, 2, 9, 0, tzinfo=UTC)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.breach_reads = 0

    def breaches(self):  # type: ignore[no-untyped-def]
        self.breach_reads += 1
        return super().breaches()


def test_stale_exposure_answers_at_once_and_reloads_once(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    store = CountingStore()
    ticks = [0.0]
    queued: list[Callable[[], None]] = []
    live = StoreExposure(store, ttl_seconds=10, clock=lambda: ticks[0], refresh=queued.append)
    assert not live.card_ids()  # first use: loaded in the caller's thread
    respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
    ticks[0] = 11.0
    reads = store.breach_reads
    for _ in range(3):
        assert not live.card_ids()  # stale: the old set answers, no query here
    assert store.breach_reads == reads
    assert len(queued) == 1  # one reload, however many payments asked meanwhile
    queued[0]()
    assert live.card_ids()
    ticks[0] = 12.0
    assert not queued[1:]  # fresh again: nothing more to reload


def test_invalidate_reloads_in_the_callers_thread(workspace, breached_world) -> None:
    History(workspace).append(breached_world.table)
    store = MemoryStore()
    queued: list[Callable[[], None]] = []
    live = StoreExposure(store, refresh=queued.append)
    assert not live.card_ids()
    respond(workspace, store, "BIGMART", now=NOW, as_of=AS_OF, notify=False)
    live.invalidate()
    assert live.card_ids() and not queued
