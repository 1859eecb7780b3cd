"""Counters of what the ISO 8583 listener did, for operators (and Prometheus) to watch.

Plain integers, because the listener runs on one event loop; ``as_dict()`` gives stable names
an exporter can publish as ``cardwatch_iso_<name>_total`` (``connections_open`` is a gauge).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["IsoCounters"]


@dataclass
class IsoCounters:
    """Running totals since the listener started.

    >>> c = IsoCounters()
    >>> c.stand_in_timeout += 1
    >>> c.as_dict()["stand_in_timeout"], c.stand_in
    (1, 1)
    """

    connections_opened: int = 0
    connections_open: int = 0
    frames_received: int = 0
    answers_sent: int = 0
    handler_answers: int = 0
    stand_in_timeout: int = 0
    stand_in_error: int = 0
    network_messages: int = 0
    rejected_messages: int = 0  # answered 30 / 14 without calling the handler
    malformed_dropped: int = 0  # unreadable: logged, not answered
    oversized_frames: int = 0
    truncated_frames: int = 0
    answers_lost: int = 0  # the connection went away before its answer could be written

    @property
    def stand_in(self) -> int:
        """Every answer given by the stand-in policy instead of the handler."""
        return self.stand_in_timeout + self.stand_in_error

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
