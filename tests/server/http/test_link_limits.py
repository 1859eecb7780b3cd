"""Link taps, breach checks and bad tokens are rate-limited in separate buckets per address."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from cardwatch.customer.links import new_link, sign
from cardwatch.server.http import Services
from cardwatch.server.http.routes import links
from cardwatch.store.records import Breach, Exposure

from .conftest import Clock


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "_recent", defaultdict(deque))


def test_bad_tokens_do_not_use_up_a_genuine_breach_check(
    client: TestClient, services: Services, clock: Clock
) -> None:
    now = clock.now
    breach = services.store.add_breach(
        Breach("m_tills", now - timedelta(days=30), now - timedelta(days=10), 12.0, now)
    )
    services.store.add_exposures([Exposure(breach.breach_id, "tok_1", 1.0, 1)])
    link = new_link("breach_check", "tok_1", {"breach_id": breach.breach_id}, now, timedelta(1))
    services.store.create_link(link)
    bad = [client.post(f"/l/not-a-token-{i}").status_code for i in range(12)]
    assert bad[:10] == [410] * 10 and bad[-1] == 429
    assert client.post(f"/l/{sign(link, services.actions.key)}").status_code == 200
