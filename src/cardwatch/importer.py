"""``cardwatch import``: read a CSV or Parquet file, check it, and append it to history.

A file with a bad row is refused whole, with every problem named; ``skip_invalid`` imports the
good rows and writes the rejected ones, with their reasons, beside the input. A file that has
``txn_id`` and ``is_fraud`` but no other transaction column is a labels file (chargebacks,
cardholder reports) and is laid over the transactions already in history.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
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
    PanKey,
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


_PARQUET = (".parquet", ".pq")
_CSV = (".csv",)


def read_table(path: Path) -> pa.Table:
    """Read CSV (every column as text, validated later) or Parquet; errors never show a PAN.

    Only an empty CSV cell is missing: pyarrow would also read ``nan``, ``NA`` or ``null`` as
    missing, which called the amount ``nan`` "required" and dropped Namibia (``NA``); as text
    they get the check of their column instead ("is not a number", ...).
    """
    if not path.exists():
        raise InvalidFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in _PARQUET + _CSV:
        raise InvalidFileError(
            f"{path}: file type {suffix or '(none)'} not supported: expected CSV (.csv) or "
            "Parquet (.parquet)"
        )
    try:
        if suffix in _PARQUET:
            return pq.read_table(path)
        return _read_csv(path)
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as e:
        raise InvalidFileError(f"{path}: cannot read: {mask_pans_in(str(e))}") from None


def _read_csv(path: Path) -> pa.Table:
    """Read a CSV as text; a row with the wrong number of columns is refused by its line number.

    pyarrow numbers rows only when reading on one thread, so the fast threaded read is tried
    first and a file it refuses is read again, on one thread, to say where.
    """
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise InvalidFileError(f"{path}: empty file, expected a header row")
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        null_values=[""],
    )
    try:
        return pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid:
        pass
    ragged: list[tuple[int | None, int, int]] = []

    def _note(row: pacsv.InvalidRow) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    pacsv.read_csv(  # anything else wrong raises here, masked by the caller
        path,
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=_note),
        convert_options=convert,
    )
    if not ragged:
        raise InvalidFileError(f"{path}: cannot read as CSV")
    where = "; ".join(
        f"line {n if n is not None else '?'}: expected {e} columns, got {a}"
        for n, e, a in ragged[:5]
    )
    more = f" (and {len(ragged) - 5:,} more such lines)" if len(ragged) > 5 else ""
    raise InvalidFileError(f"{path}: wrong number of columns: {where}{more}")


def _write_rejects(path: Path, table: pa.Table, checked: Checked) -> Path:
    """Write the refused rows with their reasons beside the input, every value made safe:
    a card number can be the reason a row was refused, in any column."""
    frame = table.to_pandas().iloc[checked.bad_rows].astype("string")
    for col in frame.columns:
        show = safe_text if col in ("card_id", "pan") else mask_pans_in
        frame[col] = frame[col].map(show, na_action="ignore")
    reasons: dict[int, list[str]] = {}
    for e in checked.errors:
        reasons.setdefault((e.row or 0) - 1, []).append(f"{e.column}: {e.problem}")
    frame.insert(0, "row", checked.bad_rows + 1)
    frame["reject_reasons"] = ["; ".join(reasons.get(int(i), [])) for i in checked.bad_rows]
    out = path.with_name(path.stem + ".rejects.csv")
    frame.to_csv(out, index=False)
    return out


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Put the file's name on a file-level refusal raised by the checks, which see only a table."""
    try:
        yield
    except InvalidFileError as e:
        raise InvalidFileError(f"{path}: {e}") from None


def _finish(checked: Checked, skip_invalid: bool) -> int:
    if checked.errors and not skip_invalid:
        raise ValidationError(checked.errors)
    return len(checked.bad_rows)


def import_file(
    history: History,
    path: Path,
    pan_key: PanKey,
    skip_invalid: bool = False,
    label_delay: pd.Timedelta = DEFAULT_LABEL_DELAY,
) -> ImportResult:
    """Check ``path`` and append it to ``history``; nothing is written unless all is well
    (or ``skip_invalid``).

    ``pan_key`` may be a callable (``Workspace.pan_key``): it is then called only when a PAN
    is about to be stored, so a refused file does not leave a freshly generated key behind.
    """
    table = read_table(path)
    names = set(table.column_names)
    is_labels = {"txn_id", "is_fraud"} <= names and not (set(REQUIRED_COLUMNS) - {"txn_id"}) & names
    if is_labels:
        ids = [None if i is None else str(i).strip() for i in table["txn_id"].to_pylist()]
        known = history.timestamps_of([i for i in ids if i])
        ts = pd.Series([known.get(i) if i else None for i in ids], dtype="datetime64[us, UTC]")
        with _naming(path):
            checked = check_labels(table, ts, label_delay)
        rejected = _finish(checked, skip_invalid)
        rejects = _write_rejects(path, table, checked) if rejected else None
        if checked.table.num_rows:
            history.append_labels(checked.table)
        return ImportResult(
            "labels", checked.table.num_rows, rejected, rejects, errors=checked.errors
        )
    with _naming(path):
        checked = check_transactions(
            table, pan_key, label_delay, history.txn_ids(), keep_good_rows=skip_invalid
        )
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


def import_cards(
    history: History, path: Path, pan_key: PanKey, skip_invalid: bool = False
) -> ImportResult:
    """Check a cards file and write it to the workspace; ``pan_key`` as in ``import_file``.

    The result counts the rows rejected under ``skip_invalid`` and says where they went, as for
    transactions: a dropped card must be reported, not only written beside the input.
    """
    table = read_table(path)
    with _naming(path):
        checked = check_cards(table, pan_key, keep_good_rows=skip_invalid)
    rejected = _finish(checked, skip_invalid)
    rejects = _write_rejects(path, table, checked) if rejected else None
    history.write_cards(checked.table)
    return ImportResult("cards", checked.table.num_rows, rejected, rejects, errors=checked.errors)
