"""Shared fixtures: a fresh workspace per test and the networks' published test card numbers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from cardwatch.workspace import Workspace

# CI draws the same examples on every run (a red build must be the change's, not the dice's);
# `make test` on a desk draws new ones each time, and that is where the property tests hunt.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: Published test PANs (Visa, Mastercard, Amex, Discover): safe to put in tests.
TEST_PANS = (
    "4111111111111111",
    "4012888888881881",
    "5555555555554444",
    "5105105105105100",
    "378282246310005",
    "6011111111111117",
)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("CARDWATCH_PAN_KEY", "test-pan-key")
    monkeypatch.setenv("CARDWATCH_SECRET_KEY", "test-secret-key")
    monkeypatch.delenv("CARDWATCH_DATABASE_URL", raising=False)
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("CARDWATCH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("CARDWATCH_TEST_DATABASE_URL not set")
    return url


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("CARDWATCH_TEST_REDIS_URL")
    if not url:
        pytest.skip("CARDWATCH_TEST_REDIS_URL not set")
    return url
