"""Import: precise refusals, --skip-invalid, labels files, and no PAN in clear anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.errors import InvalidFileError, ValidationError
from cardwatch.importer import import_file
from cardwatch.pan import mask
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

    seen: list[str] = [refused.output, ok.output, *(r.getMessage() for r in caplog.records)]
    for f in workspace.home.rglob("*"):
        if f.is_file():
            seen.append(f.read_bytes().decode("latin-1"))
            if f.suffix == ".parquet":  # compressed: look inside the values too
                seen.append(str(pq.read_table(f).to_pylist()))
    for pan in TEST_PANS:
        assert not any(pan in text for text in seen), f"{mask(pan)} found in clear"
    assert History(workspace).cards().num_rows == 6
