"""``KeyFilter``: which idempotency keys the store may hold, answered in memory.

Every authorisation asks the store whether its key was decided before, and nearly always it was
not: a retry is rare. A Bloom filter of the stored keys answers "certainly not" without the
store — no query, no thread, no wait on the database — and "maybe" for the few keys that must be
looked up (the retries, and about one new key in a hundred by chance). It never answers "no" for
a key that was added, so a retry is always looked up.

The filter lives in one process and knows the keys stored before it was built (read from the
store at start-up) and those its process stores since; it grows by adding layers, each twice the
size of the one before, so a long-running service keeps its error rate.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["KeyFilter"]

_HASHES = 7  # with 10 bits a key: about 1 % false alarms
_BITS_PER_KEY = 10


class _Layer:
    __slots__ = ("bits", "capacity", "count", "mask")

    def __init__(self, capacity: int) -> None:
        size = 8
        while size < capacity * _BITS_PER_KEY:
            size <<= 1
        self.bits = bytearray(size >> 3)
        self.mask = size - 1
        self.capacity = capacity
        self.count = 0

    def add(self, h: int) -> None:
        low, step, mask, bits = h & 0xFFFFFFFF, (h >> 32) | 1, self.mask, self.bits
        for i in range(_HASHES):
            at = (low + i * step) & mask
            bits[at >> 3] |= 1 << (at & 7)
        self.count += 1

    def __contains__(self, h: int) -> bool:
        low, step, mask, bits = h & 0xFFFFFFFF, (h >> 32) | 1, self.mask, self.bits
        for i in range(_HASHES):
            at = (low + i * step) & mask
            if not bits[at >> 3] & (1 << (at & 7)):
                return False
        return True


class KeyFilter:
    """A growing Bloom filter of strings: ``add(key)``, then ``key in filter`` is True for every
    key added (and, by chance, for about 1 % of the others).

    Keys are hashed with Python's own ``hash`` (salted per process), which is why the filter is
    never stored: it is rebuilt from the store at start-up. One thread may add while others test:
    a key is in once ``add`` has returned.

    >>> seen = KeyFilter(capacity=100)
    >>> seen.update(f"k{i}" for i in range(1_000))
    >>> all(f"k{i}" in seen for i in range(1_000))
    True
    >>> sum(f"other{i}" in seen for i in range(10_000)) < 300
    True
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._layers: list[_Layer] = [_Layer(max(capacity, 8))]

    def add(self, key: str) -> None:
        layer = self._layers[-1]
        if layer.count >= layer.capacity:
            layer = _Layer(layer.capacity * 2)
            self._layers.append(layer)
        layer.add(hash(key))

    def update(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(key)

    def __contains__(self, key: object) -> bool:
        h = hash(key)
        return any(h in layer for layer in self._layers)

    def __len__(self) -> int:
        """How many keys were added (a key added twice counts twice)."""
        return sum(layer.count for layer in self._layers)
