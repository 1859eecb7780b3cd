"""Running the service on this machine: a free loopback port, and a clock that lives in a
simulated world's time (the demo, the service benchmark and the end-to-end tests share them)."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta

__all__ = ["SimulatedClock", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it).

    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SimulatedClock:
    """The world's time, flowing from ``start`` at the real pace from the monotonic instant
    ``real`` (default: now). ``time.monotonic`` is one clock for every process of a machine, so
    a parent and its child agree on it: the service, its notices and its links live in the
    simulated day, not in today's date."""

    def __init__(self, start: datetime, real: float | None = None) -> None:
        self.start = start
        self.real = time.monotonic() if real is None else real

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.real)
