"""The rule sets plug into the engine: same vocabulary, same protocol, same answers live and in
replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from cardwatch.engine import Engine, ExposureFlags
from cardwatch.profiles import FEATURE_NAMES
from cardwatch.replay import replay
from cardwatch.rules import KNOWN_ATTRIBUTES, compile_ruleset, loads_ruleset
from cardwatch.rules.vocabulary import PROFILE_FEATURES
from cardwatch.schema import HISTORY_SCHEMA, Transaction

RULES = """
[lists]
risky = ["m3"]

[[rules]]
id = "abroad_big"
rule = 'decline if amount > 500 and merchant_country != home_country'
description = "Large payment abroad."

[[rules]]
id = "risky_merchant"
rule = 'challenge if merchant_id in @risky and channel == "ecommerce"'
description = "Online payment at a merchant under watch."

[[rules]]
id = "burst"
rule = "review if card_txn_count_1h >= 2"
description = "Several payments within an hour."
"""

START = datetime(2024, 3, 1, tzinfo=UTC)


def _rows() -> list[dict[str, object]]:
    rows = []
    for i in range(30):
        rows.append(
            {
                "txn_id": f"t{i:03d}",
                "timestamp": START + timedelta(minutes=25 * i),
                "card_id": f"c{i % 3}",
                "amount": 800.0 if i % 7 == 0 else 15.0 + i,
                "merchant_id": f"m{i % 5}",
                "merchant_country": "US" if i % 4 == 0 else "FR",
                "mcc": "5999",
                "channel": "ecommerce" if i % 2 else "card_present",
                "entry_mode": "ecommerce" if i % 2 else "chip",
                "currency": "EUR",
            }
        )
    return rows


def test_the_vocabulary_is_what_the_engine_supplies() -> None:
    assert PROFILE_FEATURES == FEATURE_NAMES
    txn = Transaction("t", START, "c1", 10.0, "m1")
    x = np.zeros(len(FEATURE_NAMES))
    values = Engine().rule_values(txn, x, 0.1, None, ExposureFlags())
    assert set(values) == set(KNOWN_ATTRIBUTES)


def test_replay_and_live_engine_agree_with_a_compiled_rule_set() -> None:
    rules = compile_ruleset(loads_ruleset(RULES), KNOWN_ATTRIBUTES)
    rows = _rows()
    history = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
    bulk = replay(history, rules=rules).to_pylist()
    engine = Engine(rules=rules)
    live = []
    for row in rows:
        txn = Transaction(**row)  # type: ignore[arg-type]
        decision = engine.decide(txn)
        engine.update(txn, decision)
        live.append(
            (
                decision.action.value,
                decision.response_code,
                ";".join(r.code for r in decision.reasons),
            )
        )
    assert live == [(r["action"], r["response_code"], r["reasons"]) for r in bulk]
    codes = {c for _, _, reasons in live for c in reasons.split(";") if c.startswith("rule:")}
    assert {"rule:abroad_big", "rule:risky_merchant"} <= codes


def test_protocol_answers_match_the_rule_set() -> None:
    rules = compile_ruleset(loads_ruleset(RULES), KNOWN_ATTRIBUTES)
    values = dict.fromkeys(KNOWN_ATTRIBUTES, 0.0) | {
        "amount": 900.0,
        "merchant_country": "US",
        "home_country": "FR",
        "merchant_id": "m1",
        "channel": "ecommerce",
    }
    action, rule_id, reason = rules.match(values)
    assert (action, rule_id) == ("decline", "abroad_big")
    assert reason == rules.reason_at(0)
    cols = {k: np.array([v, v], dtype=object) for k, v in values.items()}
    cols["amount"] = np.array([900.0, 10.0])
    codes, index = rules.match_columns(cols, 2)
    assert index.tolist() == [0, -1] and codes[1] == -1
