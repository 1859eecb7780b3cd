"""WriteTurns: the writers of one process take turns at a SQLite file, first come first served,
so the group-commit writer coming straight back cannot keep the outbox worker out."""

from __future__ import annotations

import threading
import time

from cardwatch.store.writelock import WriteTurns


def test_a_waiting_writer_goes_before_the_one_coming_back() -> None:
    turns = WriteTurns()
    order: list[str] = []
    turns.acquire()
    waiting = threading.Thread(
        target=lambda: (turns.acquire(), order.append("other"), turns.release())
    )
    waiting.start()
    while not turns._waiting:  # the other writer is queued
        time.sleep(0.001)
    turns.release()
    with turns:  # straight back: after the one that waited
        order.append("back")
    waiting.join(5)
    assert order == ["other", "back"]
    assert not turns.held


def test_one_database_one_queue(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = WriteTurns.for_database(str(tmp_path / "x.db"))
    assert WriteTurns.for_database(str(tmp_path / "." / "x.db")) is a
    assert WriteTurns.for_database(str(tmp_path / "y.db")) is not a
