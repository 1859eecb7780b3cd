"""Both stores offer the whole ``Store`` interface, with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from cardwatch.store.base import Store
from cardwatch.store.memory import MemoryStore
from cardwatch.store.sql import SqlStore

MEMBERS = [
    name for name, value in vars(Store).items() if callable(value) and not name.startswith("_")
]


@pytest.mark.parametrize("cls", [MemoryStore, SqlStore])
@pytest.mark.parametrize("name", MEMBERS)
def test_same_signature(cls: type, name: str) -> None:
    expected = inspect.signature(getattr(Store, name))
    actual = inspect.signature(getattr(cls, name))
    assert list(actual.parameters) == list(expected.parameters)
    for p, q in zip(actual.parameters.values(), expected.parameters.values(), strict=True):
        assert (p.kind, p.default) == (q.kind, q.default), f"{cls.__name__}.{name}({p.name})"


def test_runtime_check() -> None:
    assert isinstance(MemoryStore(), Store)
    assert len(MEMBERS) > 30
