"""Validate a transactions (or cards, or labels) file against the contract, vectorised.

Every problem names its row (1-based data row; line = row + 1 in a CSV with a header), its
column and its value, made safe for display: a value that looks like a PAN is masked before it
goes into an error, a log line or a rejects file. PANs are tokenised here, at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cardwatch.errors import FieldError, InvalidFileError
from cardwatch.pan import card_key, contains_pan, is_pan, luhn_valid, pan_digits, safe_text
from cardwatch.schema import (
    CARDS_SCHEMA,
    CHANNELS,
    ENTRY_MODES,
    HISTORY_SCHEMA,
    REQUIRED_COLUMNS,
)

__all__ = [
    "DEFAULT_LABEL_DELAY",
    "LABEL_COLUMNS",
    "Checked",
    "PanKey",
    "check_cards",
    "check_labels",
    "check_transactions",
]

LABEL_COLUMNS = ("txn_id", "is_fraud", "fraud_reported_at")
#: The PAN key, or how to get it: a callable lets a refused file leave the workspace keyless.
PanKey = bytes | Callable[[], bytes]
DEFAULT_LABEL_DELAY = pd.Timedelta(days=7)


@dataclass
class Checked:
    """The good rows as an Arrow table, the problems found, and which rows they were on."""

    table: pa.Table
    errors: list[FieldError] = field(default_factory=list)
    bad_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ignored_columns: list[str] = field(default_factory=list)


class _Checker:
    """Collects per-cell problems over a frame of strings, column by column."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.errors: list[FieldError] = []
        self.bad = np.zeros(len(frame), dtype=bool)

    def flag(self, column: str, mask_: np.ndarray | pd.Series, problem: str) -> None:
        idx = np.flatnonzero(np.asarray(mask_, dtype=bool))
        if not len(idx):
            return
        self.bad[idx] = True
        values = self.frame[column].to_numpy()
        for i in idx:
            self.errors.append(FieldError(column, safe_text(values[i]), problem, row=int(i) + 1))

    def present(self, column: str) -> pd.Series:
        s = self.frame[column]
        return s.notna() & (s.astype("string").str.strip() != "")

    def required(self, column: str) -> None:
        self.flag(column, ~self.present(column), "is required")

    def timestamps(self, column: str, required: bool) -> pd.Series:
        s = self.frame[column]
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
            if required:
                self.flag(column, out.isna(), "is required")
            return out
        text = s.astype("string").str.strip()
        out = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        given = text.notna() & (text != "")
        self.flag(column, given & out.isna(), "is not an ISO 8601 date-time")
        if required:
            self.flag(column, ~given, "is required")
        return out

    def numbers(self, column: str) -> pd.Series:
        s = self.frame[column]
        out = pd.to_numeric(s, errors="coerce").astype("float64")
        given = self.present(column)
        self.flag(column, given & (out.isna() | ~np.isfinite(out.fillna(0))), "is not a number")
        return out

    def in_range(self, column: str, values: pd.Series, lo: float, hi: float) -> None:
        self.flag(
            column,
            values.notna() & ((values < lo) | (values > hi)),
            f"must be between {lo:g} and {hi:g}",
        )

    def pattern(self, column: str, regex: str, problem: str) -> pd.Series:
        text = self.frame[column].astype("string").str.strip()
        given = text.notna() & (text != "")
        self.flag(column, given & ~text.str.fullmatch(regex).fillna(False), problem)
        return text.where(given, None)

    def choice(self, column: str, allowed: tuple[str, ...]) -> pd.Series:
        text = self.frame[column].astype("string").str.strip().str.lower()
        given = text.notna() & (text != "")
        self.flag(column, given & ~text.isin(allowed), f"must be one of {', '.join(allowed)}")
        return text.where(given, None)


def _frame(table: pa.Table | pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    for c in columns:
        if c not in frame.columns:
            frame[c] = None
    return frame.reset_index(drop=True)


def _missing(frame: pd.DataFrame | pa.Table, required: tuple[str, ...], what: str) -> None:
    names = list(frame.columns) if isinstance(frame, pd.DataFrame) else frame.column_names
    missing = [c for c in required if c not in names]
    if missing:
        raise InvalidFileError(f"{what} file lacks required column(s): {', '.join(missing)}")


def _check_label_delay(label_delay: pd.Timedelta) -> None:
    """A label is reported after its payment: a negative (or unknown) delay would date it before,
    and "what was known at T" would then train on labels nobody had yet."""
    if pd.isna(label_delay) or label_delay < pd.Timedelta(0):
        raise ValueError(f"label_delay must be zero or more, not {label_delay}")


def _card_ids(checker: _Checker, column: str) -> pd.Series:
    """Refuse values that look like a mistyped PAN; return the ids, each PAN as its bare digits.

    "Looks like a PAN" is ``pan_digits``: grouped by spaces or dashes or not, the same number is
    one card, tokenised or refused the same way. Tokenising waits for ``_tokenised``, once the
    good rows are known, so that a refused file does not need (and create) the workspace key.
    """
    text = checker.frame[column].astype("string").str.strip()
    looks: list[str] = []
    bare: dict[str, str] = {}
    for u in text.dropna().unique():
        digits = pan_digits(u)
        if digits is None:
            continue
        if luhn_valid(digits):
            bare[u] = digits
        else:
            looks.append(u)
    if looks:
        checker.flag(column, text.isin(looks), "looks like a card number but fails the Luhn check")
    return text.replace(bare) if bare else text


def _tokenised(cards: pd.Series, good: np.ndarray, pan_key: PanKey) -> pd.Series:
    """The good rows' card ids with every PAN tokenised; the key is asked for only when needed."""
    uniques = cards[good].dropna().unique()
    if not any(is_pan(u) for u in uniques):
        return cards.where(good, None)
    key = pan_key() if callable(pan_key) else pan_key
    return cards.where(good, None).map({u: card_key(u, key) for u in uniques})


def _no_pans(checker: _Checker, *columns: str) -> None:
    """Refuse a PAN in a column stored as it is (ids, names): it would sit there in clear.

    Only ``card_id`` is tokenised; a card number typed in, say, ``customer_id`` is a mistake to
    show (masked), not a value to keep.
    """
    for column in columns:
        text = checker.frame[column].astype("string")
        uniques = pa.array(text.dropna().unique(), pa.string())
        # A cheap vectorised sieve first (12 digits in a row, maybe grouped), Luhn on the few.
        digit_runs = pc.match_substring_regex(uniques, r"(?:\d[ -]?){11}\d").to_numpy(False)
        holding = [u for u in uniques.filter(digit_runs).to_pylist() if contains_pan(u)]
        if holding:
            checker.flag(
                column,
                text.isin(holding),
                "holds a card number, which is never stored in clear (a card number belongs "
                "in card_id, where it is tokenised)",
            )


def check_transactions(
    table: pa.Table | pd.DataFrame,
    pan_key: PanKey,
    label_delay: pd.Timedelta = DEFAULT_LABEL_DELAY,
    known_txn_ids: set[str] | None = None,
    keep_good_rows: bool = True,
) -> Checked:
    """Check a transactions table; return the good rows typed as ``HISTORY_SCHEMA``.

    A fraud label without ``fraud_reported_at`` is assumed reported ``label_delay`` after the
    payment, so that "what was known at T" never peeks at the future. With ``keep_good_rows``
    off, a table with a bad row returns no rows at all: the caller refuses it whole, so nothing
    is tokenised and the key is not asked for.

    >>> rows = pd.DataFrame({"txn_id": ["t1", "t2"], "timestamp": ["2026-01-01T10:00", "soon"],
    ...     "card_id": ["4111111111111111", "c2"], "amount": ["12.5", "-3"],
    ...     "merchant_id": ["m", "m"]})
    >>> checked = check_transactions(rows, b"key")
    >>> checked.table.num_rows, [str(e) for e in checked.errors]  # doctest: +NORMALIZE_WHITESPACE
    (1, ["row 2, column 'timestamp', value 'soon': is not an ISO 8601 date-time",
         "row 2, column 'amount', value '-3': must be greater than 0"])
    >>> checked.table["card_id"][0].as_py().startswith("tok_")
    True
    """
    _check_label_delay(label_delay)
    _missing(table, REQUIRED_COLUMNS, "transactions")
    names = list(HISTORY_SCHEMA.names)
    frame = _frame(table, tuple(names))
    ignored = [c for c in frame.columns if c not in names]
    ck = _Checker(frame)
    for c in ("txn_id", "card_id", "merchant_id"):
        ck.required(c)
    txn_id = frame["txn_id"].astype("string").str.strip()
    ck.flag("txn_id", txn_id.notna() & txn_id.duplicated(keep="first"), "is repeated in the file")
    _no_pans(ck, "txn_id", "customer_id", "merchant_id", "merchant_name", "terminal_id")
    if known_txn_ids:
        ck.flag("txn_id", txn_id.isin(known_txn_ids), "is already in the workspace history")
    ts = ck.timestamps("timestamp", required=True)
    amount = ck.numbers("amount")
    ck.flag("amount", amount.notna() & (amount <= 0), "must be greater than 0")
    ck.flag("amount", ~ck.present("amount"), "is required")
    card = _card_ids(ck, "card_id")
    currency = ck.pattern("currency", r"[A-Za-z]{3}", "must be an ISO 4217 alpha-3 code")
    mcc = ck.pattern("mcc", r"\d{4}", "must be a 4-digit merchant category code")
    country = ck.pattern("merchant_country", r"[A-Za-z]{2}", "must be an ISO 3166 alpha-2 code")
    lat, lon = ck.numbers("merchant_lat"), ck.numbers("merchant_lon")
    ck.in_range("merchant_lat", lat, -90, 90)
    ck.in_range("merchant_lon", lon, -180, 180)
    channel = ck.choice("channel", CHANNELS)
    entry = ck.choice("entry_mode", ENTRY_MODES)
    fraud = ck.numbers("is_fraud")
    ck.flag("is_fraud", fraud.notna() & ~fraud.isin([0, 1]), "must be 0 or 1")
    reported = ck.timestamps("fraud_reported_at", required=False)
    ck.flag(
        "fraud_reported_at",
        reported.notna() & ts.notna() & (reported < ts),
        "is before the transaction's timestamp",
    )
    is_fraud = fraud.where(fraud.isin([0, 1]), 0).fillna(0).astype("int8")
    reported = reported.where(is_fraud == 1)
    reported = reported.fillna((ts + label_delay).where(is_fraud == 1))
    if ck.bad.any() and not keep_good_rows:
        return Checked(HISTORY_SCHEMA.empty_table(), ck.errors, np.flatnonzero(ck.bad), ignored)

    def text(c: str) -> pd.Series:
        s = frame[c].astype("string").str.strip()
        return s.where(s.notna() & (s != ""), None)

    out = pd.DataFrame(
        {
            "txn_id": txn_id,
            "timestamp": ts,
            "card_id": _tokenised(card, ~ck.bad, pan_key),
            "amount": amount,
            "merchant_id": text("merchant_id"),
            "customer_id": text("customer_id"),
            "currency": currency.str.upper().fillna("EUR"),
            "mcc": mcc,
            "merchant_name": text("merchant_name"),
            "merchant_country": country.str.upper(),
            "merchant_lat": lat,
            "merchant_lon": lon,
            "terminal_id": text("terminal_id"),
            "channel": channel,
            "entry_mode": entry,
            "is_fraud": is_fraud,
            "fraud_reported_at": reported,
        }
    )
    good = out[~ck.bad]
    good = good.sort_values(["timestamp", "txn_id"], kind="stable")
    result = pa.Table.from_pandas(good, schema=HISTORY_SCHEMA, preserve_index=False)
    return Checked(result, ck.errors, np.flatnonzero(ck.bad), ignored)


def check_labels(
    table: pa.Table | pd.DataFrame,
    timestamps: pd.Series,
    label_delay: pd.Timedelta = DEFAULT_LABEL_DELAY,
) -> Checked:
    """Check a labels file (txn_id, is_fraud, fraud_reported_at): chargebacks, reports, verdicts.

    ``timestamps`` holds, row by row, the time of the labelled transaction in history (NaT when
    the workspace has no such transaction); a label without ``fraud_reported_at`` is taken as
    reported ``label_delay`` after it.
    """
    _check_label_delay(label_delay)
    _missing(table, ("txn_id", "is_fraud"), "labels")
    frame = _frame(table, LABEL_COLUMNS)
    ck = _Checker(frame)
    ck.required("txn_id")
    ts = timestamps.reset_index(drop=True)
    ck.flag("txn_id", ck.present("txn_id") & ts.isna(), "is not in the workspace history")
    fraud = ck.numbers("is_fraud")
    ck.flag("is_fraud", ~ck.present("is_fraud"), "is required")
    ck.flag("is_fraud", fraud.notna() & ~fraud.isin([0, 1]), "must be 0 or 1")
    reported = ck.timestamps("fraud_reported_at", required=False)
    ck.flag(
        "fraud_reported_at",
        reported.notna() & ts.notna() & (reported < ts),
        "is before the transaction's timestamp",
    )
    reported = reported.fillna(ts + label_delay)
    out = pd.DataFrame(
        {
            "txn_id": frame["txn_id"].astype("string").str.strip(),
            "is_fraud": fraud.where(fraud.isin([0, 1]), 0).fillna(0).astype("int8"),
            "fraud_reported_at": reported,
        }
    )[~ck.bad]
    schema = pa.schema(
        [
            HISTORY_SCHEMA.field("txn_id"),
            HISTORY_SCHEMA.field("is_fraud"),
            HISTORY_SCHEMA.field("fraud_reported_at"),
        ]
    )
    return Checked(
        pa.Table.from_pandas(out, schema=schema, preserve_index=False),
        ck.errors,
        np.flatnonzero(ck.bad),
    )


def check_cards(
    table: pa.Table | pd.DataFrame, pan_key: PanKey, keep_good_rows: bool = True
) -> Checked:
    """Check a cards file (card_id, customer_id, home_country, home_lat, home_lon).

    ``keep_good_rows`` as in ``check_transactions``.
    """
    _missing(table, ("card_id",), "cards")
    frame = _frame(table, tuple(CARDS_SCHEMA.names))
    ck = _Checker(frame)
    ck.required("card_id")
    card = _card_ids(ck, "card_id")
    ck.flag("card_id", card.notna() & card.duplicated(), "is repeated in the file")
    _no_pans(ck, "customer_id")
    country = ck.pattern("home_country", r"[A-Za-z]{2}", "must be an ISO 3166 alpha-2 code")
    lat, lon = ck.numbers("home_lat"), ck.numbers("home_lon")
    ck.in_range("home_lat", lat, -90, 90)
    ck.in_range("home_lon", lon, -180, 180)
    if ck.bad.any() and not keep_good_rows:
        return Checked(CARDS_SCHEMA.empty_table(), ck.errors, np.flatnonzero(ck.bad))
    customer = frame["customer_id"].astype("string").str.strip()
    out = pd.DataFrame(
        {
            "card_id": _tokenised(card, ~ck.bad, pan_key),
            "customer_id": customer.where(customer != "", None),
            "home_country": country.str.upper(),
            "home_lat": lat,
            "home_lon": lon,
        }
    )[~ck.bad]
    return Checked(
        pa.Table.from_pandas(out, schema=CARDS_SCHEMA, preserve_index=False),
        ck.errors,
        np.flatnonzero(ck.bad),
    )
