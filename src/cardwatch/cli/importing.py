"""``cardwatch import FILE``: load history and labels into the workspace."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_workspace
from cardwatch.errors import InvalidFileError, ValidationError
from cardwatch.importer import ImportResult, import_cards, import_file
from cardwatch.store.history import History


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Transactions or labels, CSV or Parquet.")],
    cards: Annotated[
        Path | None, typer.Option("--cards", help="Cards file: home country and location.")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Import the good rows; write rejects beside input."),
    ] = False,
    label_delay_days: Annotated[
        float,
        typer.Option(
            help="Assumed report delay of a fraud label without a report time (days, >= 0)."
        ),
    ] = 7.0,
    home: Home = None,
) -> None:
    """Load transactions (or labels) into the workspace history, refusing bad files precisely."""
    import pandas as pd

    # A negative delay would date a label before its payment, and training would learn from
    # labels nobody had yet; NaN or infinity would give no report time at all.
    if not (math.isfinite(label_delay_days) and label_delay_days >= 0):
        raise typer.BadParameter(
            f"{label_delay_days:g} days: a fraud label is reported after the payment, so the "
            "delay must be a number of days >= 0",
            param_hint="--label-delay-days",
        )
    ws = open_workspace(home)
    history = History(ws)
    checking = file
    try:
        if cards is not None:
            checking = cards
            with console.status(f"checking {cards.name}"):
                # The key is passed uncalled: it is made only if a PAN is about to be stored.
                cards_result = import_cards(history, cards, ws.pan_key, skip_invalid)
            console.print(f"cards: {cards_result.imported:,} imported")
            _say_rejected(cards_result)
        checking = file
        with console.status(f"checking {file.name}"):
            result = import_file(
                history, file, ws.pan_key, skip_invalid, pd.Timedelta(days=label_delay_days)
            )
    except ValidationError as e:
        table = Table("row", "column", "value", "problem", title=f"{checking.name} refused")
        for err in e.errors[:20]:
            table.add_row(str(err.row), err.column, str(err.value), err.problem)
        console.print(table)
        more = len(e.errors) - 20
        if more > 0:
            console.print(f"... and {more:,} more problems")
        console.print(
            f"[red]nothing imported from {checking.name}[/]: {len(e.errors):,} problem(s). Fix "
            "the file, or use --skip-invalid to import the good rows and write the rejects "
            "beside the input."
        )
        raise typer.Exit(1) from None
    except InvalidFileError as e:
        console.print(f"[red]refused[/]: {e}")
        raise typer.Exit(1) from None
    console.print(f"{result.kind}: {result.imported:,} imported into {ws.home}")
    if result.ignored_columns:
        console.print(f"ignored columns: {', '.join(result.ignored_columns)}")
    _say_rejected(result)


def _say_rejected(result: ImportResult) -> None:
    if result.rejected:
        console.print(
            f"[yellow]{result.rejected:,} row(s) rejected[/], with reasons in {result.rejects_path}"
        )
