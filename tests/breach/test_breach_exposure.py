"""Exposure counts unique cards at the breached stores; triage puts the real victims first."""

from __future__ import annotations

from datetime import UTC, datetime

from cardwatch.breach import detect
from cardwatch.breach.exposure import exposure, reissue_plan, triage

AS_OF = datetime(2013, 12, 31, tzinfo=UTC)


def test_exposure_and_triage_put_victims_first(breached_world) -> None:
    suspect = detect(breached_world.table, AS_OF)[0]
    exp = exposure(breached_world.table, suspect)
    assert len(exp.cards) == len(set(exp.cards)) >= suspect.fraud_cards
    assert exp.transactions >= len(exp.cards) and exp.customers == len(exp.cards)
    ranked = triage(breached_world.table, exp, AS_OF)
    assert [r.card_id for r in ranked] and len(ranked) == len(exp.cards)
    victims = breached_world.victims & set(exp.cards)
    top = {r.card_id for r in ranked[: len(victims)]}
    assert len(top & victims) >= 0.8 * len(victims)
    plan = reissue_plan(ranked, suspect)
    assert plan[0]["action"] == "block_and_reissue"
    assert plan[-1]["action"] == "monitor"


def _rows(specs: list[tuple[str, str | None, str]]):
    """Payments at m1 on 1 December: (card, customer, channel)."""
    import pyarrow as pa

    from cardwatch.schema import HISTORY_SCHEMA

    t = datetime(2013, 12, 1, 12, tzinfo=UTC)
    cols = {n: [None] * len(specs) for n in HISTORY_SCHEMA.names}
    cols["txn_id"] = [f"t{i}" for i in range(len(specs))]
    cols["timestamp"] = [t] * len(specs)
    cols["card_id"] = [s[0] for s in specs]
    cols["customer_id"] = [s[1] for s in specs]
    cols["channel"] = [s[2] for s in specs]
    cols["amount"] = [10.0] * len(specs)
    cols["merchant_id"] = ["m1"] * len(specs)
    cols["currency"] = ["EUR"] * len(specs)
    cols["is_fraud"] = [0] * len(specs)
    return pa.table(cols, schema=HISTORY_SCHEMA)


def _suspect():
    from cardwatch.breach import Suspect

    t = datetime(2013, 12, 1, tzinfo=UTC)
    end = datetime(2013, 12, 2, tzinfo=UTC)
    return Suspect("m1", "store", None, ("m1",), (), t, end, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10)


def test_exposure_counts_people_and_the_data_stolen() -> None:
    till = _rows(
        [
            ("c1", "u1", "card_present"),
            ("c1", "u1", "card_present"),
            ("c2", "u1", "card_present"),
            ("c3", None, None),
            ("c4", None, "ecommerce"),
        ]
    )
    exp = exposure(till, _suspect())
    # Four cards, five payments, three people: u1 holds two cards; c3 and c4 have no customer.
    assert (len(exp.cards), exp.transactions, exp.customers) == (4, 5, 3)
    assert exp.data_stolen == "track"
    web = _rows([("c1", "u1", "ecommerce"), ("c2", "u2", "moto"), ("c3", "u3", "card_present")])
    assert exposure(web, _suspect()).data_stolen == "card_not_present"


def test_a_chain_suspect_exposes_every_store_of_the_chain() -> None:
    """Victims at BM1 only, but the chain is suspected: cards of BM2 (same name) are exposed too,
    not those of a shop under another name; a store-level suspect stays at its store."""
    import pyarrow as pa

    from cardwatch.breach import Suspect
    from cardwatch.breach.exposure import chain_stores

    table = _rows([("c1", "u1", "card_present"), ("c2", "u2", "card_present"),
                   ("c3", "u3", "card_present")])  # fmt: skip
    table = table.set_column(
        table.schema.get_field_index("merchant_id"), "merchant_id", pa.array(["BM1", "BM2", "X"])
    ).set_column(
        table.schema.get_field_index("merchant_name"),
        "merchant_name",
        pa.array(["BIGMART", "BIGMART", "OTHER"]),
    )
    t = datetime(2013, 12, 1, tzinfo=UTC)
    end = datetime(2013, 12, 2, tzinfo=UTC)
    chain = Suspect(
        "BIGMART", "chain", "BIGMART", ("BM1",), (), t, end, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 10
    )
    assert chain_stores(table, "BIGMART") == ("BM1", "BM2")
    wide = exposure(table, chain)
    assert (wide.cards, wide.merchant_ids, wide.chain_wide) == (("c1", "c2"), ("BM1", "BM2"), True)
    assert wide.stores_with_victims == 1
    narrow = exposure(table, chain, chain_wide=False)
    assert (narrow.cards, narrow.chain_wide) == (("c1",), False)
    shop = Suspect("BM1", "store", "BIGMART", ("BM1",), (), t, end, 3.0, 1e-3, 3, 9, 0.1, t, 1.0, 1)
    assert exposure(table, shop).cards == ("c1",)
    ranked = triage(table, wide, end)
    assert {r["stores"] for r in reissue_plan(ranked, chain, len(wide.merchant_ids))} == {2}
