"""Import: precise refusals, --skip-invalid, labels files, and no PAN in clear anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.errors import InvalidFileError, ValidationError
from cardwatch.importer import import_file
from cardwatch.pan import mask, tokenise
from cardwatch.store.history import History
from cardwatch.workspace import Workspace
from tests.conftest import TEST_PANS

HEADER = "txn_id,timestamp,card_id,amount,merchant_id,merchant_country,channel,is_fraud\n"


def write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def good_rows() -> list[str]:
    return [
        f"t{i},2026-03-0{1 + i % 5}T1{i % 10}:00:00,{pan},{10 + i}.50,m{i % 3},FR,ecommerce,{i % 2}"
        for i, pan in enumerate(TEST_PANS)
    ]


def test_good_file_is_imported_tokenised_and_sorted(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", good_rows())
    result = import_file(History(workspace), path, workspace.pan_key())
    assert (result.kind, result.imported, result.rejected) == ("transactions", 6, 0)
    table = History(workspace).table()
    assert table.num_rows == 6
    assert all(c.startswith("tok_") for c in table["card_id"].to_pylist())
    ts = table["timestamp"].to_pylist()
    assert ts == sorted(ts)
    # A fraud label without a report time is assumed reported 7 days later.
    row = table.to_pylist()[[r["is_fraud"] for r in table.to_pylist()].index(1)]
    assert (row["fraud_reported_at"] - row["timestamp"]).days == 7


def test_bad_file_is_refused_whole_with_row_column_value(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = good_rows()
    rows[2] = "t2,yesterday,4111111111111112,abc,,FR,teleport,2"
    path = write(tmp_path / "bad.csv", rows)
    with pytest.raises(ValidationError) as info:
        import_file(History(workspace), path, workspace.pan_key())
    problems = {(e.row, e.column) for e in info.value.errors}
    assert problems == {
        (3, "timestamp"),
        (3, "card_id"),
        (3, "amount"),
        (3, "merchant_id"),
        (3, "channel"),
        (3, "is_fraud"),
    }
    assert "4111111111111112" not in str(info.value)  # a near-PAN is masked too
    assert History(workspace).is_empty()


def test_skip_invalid_imports_good_rows_and_writes_rejects(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = good_rows()
    rows[1] = rows[1].replace("ecommerce", "teleport")
    path = write(tmp_path / "some.csv", rows)
    result = import_file(History(workspace), path, workspace.pan_key(), skip_invalid=True)
    assert (result.imported, result.rejected) == (5, 1)
    rejects = result.rejects_path.read_text()
    assert "teleport" in rejects and "channel: must be one of" in rejects
    assert TEST_PANS[1] not in rejects and mask(TEST_PANS[1]) in rejects


def test_duplicate_txn_ids_in_file_and_in_history(workspace: Workspace, tmp_path: Path) -> None:
    history = History(workspace)
    import_file(history, write(tmp_path / "a.csv", good_rows()), workspace.pan_key())
    with pytest.raises(ValidationError, match="already in the workspace history"):
        import_file(history, write(tmp_path / "b.csv", good_rows()[:1]), workspace.pan_key())
    dup = [*good_rows()[:1], good_rows()[0]]
    with pytest.raises(ValidationError, match="repeated in the file"):
        import_file(History(Workspace.open(tmp_path / "w2")), write(tmp_path / "c.csv", dup), b"k")


def test_missing_column_and_unreadable_file(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", ["t1,2026-01-01,c1"], header="txn_id,timestamp,card_id\n")
    with pytest.raises(InvalidFileError, match="amount, merchant_id"):
        import_file(History(workspace), path, workspace.pan_key())
    ragged = write(tmp_path / "r.csv", [f"t1,2026-01-01,{TEST_PANS[0]},1,m,FR,ecommerce,0,extra"])
    with pytest.raises(InvalidFileError) as info:
        import_file(History(workspace), ragged, workspace.pan_key())
    assert TEST_PANS[0] not in str(info.value)


def test_labels_file_overlays_history_as_of(workspace: Workspace, tmp_path: Path) -> None:
    history = History(workspace)
    import_file(history, write(tmp_path / "a.csv", good_rows()), workspace.pan_key())
    labels = write(
        tmp_path / "labels.csv",
        ["t0,1,2026-03-20T00:00:00Z", "t1,0,"],
        header="txn_id,is_fraud,fraud_reported_at\n",
    )
    result = import_file(history, labels, workspace.pan_key())
    assert (result.kind, result.imported) == ("labels", 2)
    rows = {r["txn_id"]: r for r in history.table().to_pylist()}
    assert rows["t0"]["is_fraud"] == 1 and rows["t0"]["fraud_reported_at"].day == 20
    assert rows["t1"]["is_fraud"] == 0 and rows["t1"]["fraud_reported_at"] is None
    unknown = write(tmp_path / "l2.csv", ["nope,1,"], header="txn_id,is_fraud,fraud_reported_at\n")
    with pytest.raises(ValidationError, match="not in the workspace history"):
        import_file(history, unknown, workspace.pan_key())


def test_cli_import_then_no_pan_anywhere(
    workspace: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Import PANs through the command line, then look for them in every file and log line."""
    caplog.set_level(logging.DEBUG)
    rows = good_rows()
    rows.append(f"t9,2026-03-01T10:00:00,{TEST_PANS[0]},oops,m1,FR,ecommerce,0")
    path = write(tmp_path / "pans.csv", rows)
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "card_id,customer_id,home_country,home_lat,home_lon\n"
        + "".join(f"{p},cust{i},FR,48.85,2.35\n" for i, p in enumerate(TEST_PANS))
    )
    runner = CliRunner()
    home = ["--home", str(workspace.home)]
    refused = runner.invoke(app, ["import", str(path), *home])
    assert refused.exit_code == 1 and "nothing imported" in refused.output
    ok = runner.invoke(app, ["import", str(path), "--cards", str(cards), "--skip-invalid", *home])
    assert ok.exit_code == 0, ok.output
    assert "6 imported" in ok.output

    assert_no_clear_pan(workspace.home, refused.output, ok.output, caplog=caplog)
    assert History(workspace).cards().num_rows == 6


def written_forms(pan: str) -> list[str]:
    """A PAN as people write it: bare, and in groups of four split by spaces or dashes."""
    groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    return [pan, " ".join(groups), "-".join(groups)]


def assert_no_clear_pan(
    where: Path,
    *outputs: str,
    caplog: pytest.LogCaptureFixture | None = None,
    pans: tuple[str, ...] = TEST_PANS,
) -> None:
    """No PAN, in any written form, in the files under ``where``, the outputs or the logs."""
    seen = list(outputs)
    if caplog is not None:
        seen += [r.getMessage() for r in caplog.records]
    for f in where.rglob("*"):
        if f.is_file():
            seen.append(f.read_bytes().decode("latin-1"))
            if f.suffix == ".parquet":  # compressed: look inside the values too
                seen.append(str(pq.read_table(f).to_pylist()))
    for pan in pans:
        for form in written_forms(pan):
            assert not any(form in text for text in seen), f"{mask(pan)} found in clear"


CARDS_HEADER = "card_id,customer_id,home_country,home_lat,home_lon\n"


def cli(workspace: Workspace, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", *args, "--home", str(workspace.home)])
    return result.exit_code, result.output


def test_pans_with_spaces_or_dashes_are_tokenised_like_bare_ones(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A grouped card number is the same card as the bare one: tokenised, never kept in clear."""
    visa, mastercard = "4111 1111 1111 1111", "5555-5555-5555-4444"
    path = write(
        tmp_path / "pans.csv",
        [
            f"t1,2026-03-01T10:00:00,{visa},10,m1,FR,ecommerce,0",
            f"t2,2026-03-01T11:00:00,{mastercard},11,m1,FR,ecommerce,0",
            "t3,2026-03-01T12:00:00,4111111111111111,12,m1,FR,ecommerce,0",
        ],
    )
    cards = write(
        tmp_path / "cards.csv",
        ["5555 5555 5555 4444,cust1,FR,48.85,2.35", "4111-1111-1111-1111,cust2,FR,48.85,2.35"],
        header=CARDS_HEADER,
    )
    code, output = cli(workspace, str(path), "--cards", str(cards))
    assert code == 0, output
    history = History(workspace)
    card_ids = history.table()["card_id"].to_pylist()
    key = workspace.pan_key()
    assert card_ids.count(tokenise("4111111111111111", key)) == 2  # t1 and t3: one card
    assert tokenise("5555555555554444", key) in card_ids
    assert set(history.cards()["card_id"].to_pylist()) == {
        tokenise("5555555555554444", key),
        tokenise("4111111111111111", key),
    }
    assert_no_clear_pan(workspace.home, output)


@pytest.mark.parametrize("written", ["4111 1111 1111 1112", "4111-1111-1111-1112"])
def test_grouped_pan_failing_luhn_is_refused_masked(
    workspace: Workspace, tmp_path: Path, written: str
) -> None:
    path = write(tmp_path / "typo.csv", [f"t1,2026-03-01T10:00:00,{written},10,m1,FR,ecommerce,0"])
    with pytest.raises(ValidationError) as info:
        import_file(History(workspace), path, workspace.pan_key())
    [error] = info.value.errors
    assert (error.row, error.column, error.value) == (1, "card_id", "411111******1112")
    assert "Luhn" in error.problem and written not in str(info.value)
    cards = write(tmp_path / "cards.csv", [f"{written},c1,FR,1,2"], header=CARDS_HEADER)
    code, output = cli(
        workspace, str(write(tmp_path / "ok.csv", good_rows())), "--cards", str(cards)
    )
    assert code == 1 and "Luhn" in output and "411111******1112" in output
    assert History(workspace).is_empty()
    assert_no_clear_pan(workspace.home, output, pans=("4111111111111112",))


@pytest.mark.parametrize("column", ["txn_id", "customer_id", "terminal_id", "merchant_name"])
@pytest.mark.parametrize(
    "written", ["4111111111111111", "4111 1111 1111 1111", "ref-4111-1111-1111-1111"]
)
def test_a_pan_in_a_stored_text_column_is_refused_masked(
    workspace: Workspace, tmp_path: Path, column: str, written: str
) -> None:
    header = HEADER.rstrip("\n") + ",customer_id,terminal_id,merchant_name\n"

    def row(**values: str) -> str:
        v = {"txn_id": "t1", "customer_id": "c1", "terminal_id": "T1", "merchant_name": "Shop"}
        v.update(values)
        return (
            f"{v['txn_id']},2026-03-01T10:00:00,card_1,10,m1,FR,ecommerce,0,"
            f"{v['customer_id']},{v['terminal_id']},{v['merchant_name']}"
        )

    path = write(tmp_path / "t.csv", [row(**{column: written}), row(txn_id="t2")], header=header)
    with pytest.raises(ValidationError) as info:
        import_file(History(workspace), path, workspace.pan_key())
    [error] = info.value.errors
    assert (error.row, error.column) == (1, column)
    assert "holds a card number" in str(error) and "411111******1111" in str(error.value)
    # --skip-invalid keeps the other row, and the rejects file shows the PAN masked.
    code, output = cli(workspace, str(path), "--skip-invalid")
    assert code == 0 and "1 imported" in output, output
    assert_no_clear_pan(workspace.home, output)
    rejects = (tmp_path / "t.rejects.csv").read_text()
    assert "411111******1111" in rejects and "holds a card number" in rejects
    for form in written_forms("4111111111111111"):
        assert form not in rejects


def test_a_pan_in_customer_id_of_the_cards_file_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    cards = write(
        tmp_path / "cards.csv",
        ["card_1,5555 5555 5555 4444,FR,48.85,2.35", "card_2,cust2,FR,48.85,2.35"],
        header=CARDS_HEADER,
    )
    code, output = cli(
        workspace, str(write(tmp_path / "ok.csv", good_rows())), "--cards", str(cards)
    )
    assert code == 1 and "holds a card number" in output and "555555******4444" in output
    assert not workspace.cards_path.exists() and History(workspace).is_empty()
    assert_no_clear_pan(workspace.home, output)


def test_negative_label_delay_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    """A negative delay would date a fraud label before its payment: a leak into training."""
    path = write(tmp_path / "neg.csv", ["t1,2026-03-01T10:00:00,card_1,10,m1,FR,ecommerce,1"])
    for days in ("-5", "nan", "inf"):
        code, output = cli(workspace, str(path), "--label-delay-days", days)
        assert code != 0 and "--label-delay-days" in output and ">= 0" in output, output
    assert History(workspace).is_empty()
    with pytest.raises(ValueError, match="label_delay"):
        import_file(History(workspace), path, b"k", label_delay=pd.Timedelta(days=-5))
    assert History(workspace).is_empty()


def test_errors_in_the_cards_file_are_reported_under_its_name(
    workspace: Workspace, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.csv", good_rows())
    cards = write(tmp_path / "cards_bad.csv", ["card_1,c1,France,999,2"], header=CARDS_HEADER)
    code, output = cli(workspace, str(good), "--cards", str(cards))
    assert code == 1
    assert "cards_bad.csv refused" in output and "good.csv refused" not in output
    missing = write(tmp_path / "cards_nocol.csv", ["c1,FR"], header="customer_id,home_country\n")
    code, output = cli(workspace, str(good), "--cards", str(missing))
    assert code == 1 and "cards_nocol.csv" in output and "card_id" in output


def test_file_level_refusals_name_the_file_and_the_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    missing = write(tmp_path / "x.csv", ["t1,2026-01-01,c1"], header="txn_id,timestamp,card_id\n")
    with pytest.raises(InvalidFileError, match=r"x\.csv: transactions file lacks .*amount"):
        import_file(History(workspace), missing, workspace.pan_key())
    rows = good_rows()
    rows[3] += ",extra"
    ragged = write(tmp_path / "r.csv", rows)
    with pytest.raises(InvalidFileError, match=r"r\.csv: .*line 5: expected 8 columns, got 9"):
        import_file(History(workspace), ragged, workspace.pan_key())
    json = tmp_path / "truth.json"
    json.write_text('{"txn_id": "t1"}')
    with pytest.raises(InvalidFileError, match=r"truth\.json: file type .json not supported.*CSV"):
        import_file(History(workspace), json, workspace.pan_key())
    assert History(workspace).is_empty()


def test_nan_amount_is_not_a_number_not_missing(workspace: Workspace, tmp_path: Path) -> None:
    """pyarrow reads ``nan`` (and ``NA``, ``null``) as missing; only an empty cell is missing."""
    path = write(
        tmp_path / "nan.csv",
        [
            "t1,2026-03-01T10:00:00,card_1,nan,m1,FR,ecommerce,0",
            "t2,2026-03-01T10:00:00,card_2,1,m1,NA,ecommerce,0",
        ],
    )
    with pytest.raises(ValidationError) as info:
        import_file(History(workspace), path, workspace.pan_key())
    [error] = info.value.errors
    assert (error.row, error.column, error.value, error.problem) == (
        1,
        "amount",
        "nan",
        "is not a number",
    )
    result = import_file(History(workspace), path, workspace.pan_key(), skip_invalid=True)
    assert result.imported == 1
    assert History(workspace).table()["merchant_country"].to_pylist() == ["NA"]  # Namibia


def test_a_refused_file_does_not_create_the_pan_key(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARDWATCH_PAN_KEY")
    key_file = workspace.secrets_dir / "pan.key"
    rows = good_rows()
    rows[0] = rows[0].replace("ecommerce", "teleport")
    code, _ = cli(workspace, str(write(tmp_path / "bad.csv", rows)))
    assert code == 1 and not key_file.exists()
    code, output = cli(workspace, str(write(tmp_path / "good.csv", good_rows())))
    assert code == 0 and key_file.exists(), output


def test_skip_invalid_reports_the_rejected_cards(workspace: Workspace, tmp_path: Path) -> None:
    """A card dropped by --skip-invalid is said, with where its reasons went, like a payment."""
    cards = write(
        tmp_path / "cards.csv",
        ["card_1,c1,FR,48.85,2.35", "card_2,c2,France,48.85,2.35"],
        header=CARDS_HEADER,
    )
    good = write(tmp_path / "good.csv", good_rows())
    code, output = cli(workspace, str(good), "--cards", str(cards), "--skip-invalid")
    assert code == 0, output
    assert "cards: 1 imported" in output and "1 row(s) rejected" in output
    assert "cards.rejects.csv" in output.replace("\n", "")
    assert "France" in (tmp_path / "cards.rejects.csv").read_text()
