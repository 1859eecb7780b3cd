"""``cardwatch import``: read a CSV or Parquet file, check it, and append it to history.

A file with a bad row is refused whole, with every problem named; ``skip_invalid`` imports the
good rows and writes the rejected ones, with their reasons, beside the input. A file that has
``txn_id`` and ``is_fraud`` but no other transaction column is a labels file (chargebacks,
cardholder reports) and is laid over the transactions already in history.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cardwatch.errors import FieldError, InvalidFileError, ValidationError
from cardwatch.pan import mask_pans_in, safe_text
from cardwatch.schema import REQUIRED_COLUMNS
from cardwatch.store.history import History
from cardwatch.validation import (
    DEFAULT_LABEL_DELAY,
    Checked,
    check_cards,
    check_labels,
    check_transactions,
)

__all__ = ["ImportResult", "import_cards", "import_file", "read_table"]


@dataclass
class ImportResult:
    kind: str
    imported: int
    rejected: int = 0
    rejects_path: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def read_table(path: Path) -> pa.Table:
    """Read CSV (every column as text, validated later) or Parquet; errors never show a PAN."""
    if not path.exists():
        raise InvalidFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pq.read_table(path)
        with path.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
        if not header:
            raise InvalidFileError(f"{path}: empty file, expected a header row")
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as e:
        raise InvalidFileError(f"{path}: cannot read: {mask_pans_in(str(e))}") from None


def _write_rejects(path: Path, table: pa.Table, checked: Checked) -> Path:
    frame = table.to_pandas().iloc[checked.bad_rows].astype("string")
    for col in ("card_id", "pan"):
        if col in frame.columns:
            frame[col] = frame[col].map(safe_text)
    reasons: dict[int, list[str]] = {}
    for e in checked.errors:
        reasons.setdefault((e.row or 0) - 1, []).append(f"{e.column}: {e.problem}")
    frame.insert(0, "row", checked.bad_rows + 1)
    frame["reject_reasons"] = ["; ".join(reasons.get(int(i), [])) for i in checked.bad_rows]
    out = path.with_name(path.stem + ".rejects.csv")
    frame.to_csv(out, index=False)
    return out


def _finish(checked: Checked, skip_invalid: bool) -> int:
    if checked.errors and not skip_invalid:
        raise ValidationError(checked.errors)
    return len(checked.bad_rows)


def import_file(
    history: History,
    path: Path,
    pan_key: bytes,
    skip_invalid: bool = False,
    label_delay: pd.Timedelta = DEFAULT_LABEL_DELAY,
) -> ImportResult:
    """Check ``path`` and append it to ``history``; nothing is written unless all is well
    (or ``skip_invalid``)."""
    table = read_table(path)
    names = set(table.column_names)
    is_labels = {"txn_id", "is_fraud"} <= names and not (set(REQUIRED_COLUMNS) - {"txn_id"}) & names
    if is_labels:
        ids = [None if i is None else str(i).strip() for i in table["txn_id"].to_pylist()]
        known = history.timestamps_of([i for i in ids if i])
        ts = pd.Series([known.get(i) if i else None for i in ids], dtype="datetime64[us, UTC]")
        checked = check_labels(table, ts, label_delay)
        rejected = _finish(checked, skip_invalid)
        rejects = _write_rejects(path, table, checked) if rejected else None
        if checked.table.num_rows:
            history.append_labels(checked.table)
        return ImportResult(
            "labels", checked.table.num_rows, rejected, rejects, errors=checked.errors
        )
    checked = check_transactions(table, pan_key, label_delay, known_txn_ids=history.txn_ids())
    rejected = _finish(checked, skip_invalid)
    rejects = _write_rejects(path, table, checked) if rejected else None
    if checked.table.num_rows:
        history.append(checked.table)
    return ImportResult(
        "transactions",
        checked.table.num_rows,
        rejected,
        rejects,
        checked.ignored_columns,
        checked.errors,
    )


def import_cards(history: History, path: Path, pan_key: bytes, skip_invalid: bool = False) -> int:
    table = read_table(path)
    checked = check_cards(table, pan_key)
    _finish(checked, skip_invalid)
    if checked.errors:
        _write_rejects(path, table, checked)
    history.write_cards(checked.table)
    return checked.table.num_rows
