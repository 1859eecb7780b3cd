"""After a restart the profiles count the answers the cardholders were given, not what the
engine would decide today: a stand-in advice's declined DE 39 stays a decline, and a payment the
engine approved stays approved whatever the replay would now say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.server.stores import KINDS, opened

from cardwatch.engine import Engine
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Transaction
from cardwatch.server.assembly import rebuild_table
from cardwatch.service import AuthorisationService
from cardwatch.store.history import History, transactions_table
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

DECLINES = FEATURE_INDEX["card_declines_24h"]
START = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _txn(i: int) -> Transaction:
    return Transaction(f"t{i}", START + timedelta(minutes=i), "card-1", 25.0, "m-1")


@pytest.mark.parametrize("kind", KINDS)
def test_a_declined_advice_is_still_a_decline_after_a_restart(kind: str, tmp_path: Any) -> None:
    with opened(kind, tmp_path) as store:
        service = AuthorisationService(Engine(), store, secret_key=b"s")
        service.authorise(_txn(0))
        service.advice(_txn(1), approved=False, response_code="05")  # the network declined it
        assert service.engine.evaluate(_txn(2)).features[DECLINES] == 1

        answers = store.decided_answers()
        assert [(t.txn_id, action, code) for t, action, code in answers] == [
            ("t0", "approve", "00"),
            ("t1", "decline", "05"),
        ]
        table = transactions_table([t for t, _, _ in answers])
        kept = Engine()
        kept.warm_up(table, decided={i: (a, c) for i, (_, a, c) in enumerate(answers)})
        assert kept.evaluate(_txn(2)).features[DECLINES] == 1
        redecided = Engine()  # what a restart did before: the engine approves a 25.00 payment
        redecided.warm_up(table)
        assert redecided.evaluate(_txn(2)).features[DECLINES] == 0


def test_the_service_rebuilds_its_profiles_with_the_stored_answers(workspace: Workspace) -> None:
    store = SqlStore.open(workspace.database_url)
    service = AuthorisationService(Engine(), store, secret_key=b"s")
    service.advice(_txn(0), approved=False, response_code="51")
    table, answers = rebuild_table(History(workspace), store)
    assert table.column("txn_id").to_pylist() == ["t0"]
    assert answers == {0: ("decline", "51")}
    engine = Engine()
    warmed = engine.warm_up(table, decided=answers)
    assert warmed.column("response_code").to_pylist() == ["51"]
    assert engine.evaluate(_txn(1)).features[DECLINES] == 1
