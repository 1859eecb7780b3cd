"""Domain errors, raised by the core; only adapters turn them into HTTP statuses or ISO codes.

One module so that an adapter can map the whole family in one place and the core never needs to
know which transport it is serving.
"""

from __future__ import annotations

__all__ = [
    "CardwatchError",
    "ConfigurationError",
    "FieldError",
    "InvalidFileError",
    "NoDataError",
    "NotFoundError",
    "ValidationError",
]


class CardwatchError(Exception):
    """Base of every error cardwatch raises on purpose."""


class FieldError(CardwatchError):
    """One field of one record is wrong: which row, which column, what value, what problem.

    The value is carried already made safe for display (a PAN is masked by the caller), because
    this message ends up in logs and in rejects files.
    """

    def __init__(self, column: str, value: object, problem: str, row: int | None = None) -> None:
        self.column = column
        self.value = value
        self.problem = problem
        self.row = row
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"{where}column {column!r}, value {value!r}: {problem}")


class ValidationError(CardwatchError):
    """A record or a file failed validation; ``errors`` lists every field problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} invalid value(s): {shown}{more}")


class InvalidFileError(CardwatchError):
    """A file cannot be read at all (wrong format, missing required columns)."""


class NotFoundError(CardwatchError):
    """A thing asked for by id does not exist."""


class NoDataError(CardwatchError):
    """There is nothing to work on: the workspace has no history yet, or the window asked for
    holds no payment.

    An error rather than an empty answer, because an analysis of nothing reads as a clean bill
    ("no point of compromise", "0 decisions") when the cause is a setup mistake: a forgotten
    import, a mistyped ``--home``, a window outside the history.
    """


class ConfigurationError(CardwatchError):
    """The workspace or the environment is set up in a way cardwatch cannot work with."""
