"""``cardwatch train`` and ``cardwatch replay``: learn a model at a moment, and run history
through the engine exactly as live."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_history, output_file, stages
from cardwatch.cli.times import parse_time, parse_window
from cardwatch.engine import Policy
from cardwatch.errors import ConfigurationError, NoDataError
from cardwatch.model import ModelRegistry
from cardwatch.runtime import engine_parts, replay_workspace, train_model
from cardwatch.store.history import History
from cardwatch.store.sql import open_store

From = Annotated[str | None, typer.Option("--from", help="Start (ISO 8601), inclusive.")]
To = Annotated[str | None, typer.Option("--to", help="End (ISO 8601), exclusive.")]


@app.command()
def train(
    home: Home = None,
    start: From = None,
    end: To = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Moment of training: only labels reported by then."),
    ] = None,
    false_decline_rate: Annotated[
        float, typer.Option(help="Share of honest payments the decline threshold may hit.")
    ] = 0.001,
    challenge_rate: Annotated[
        float, typer.Option(help="Share of honest payments the challenge threshold may hit.")
    ] = 0.003,
    trees: Annotated[int, typer.Option(help="Boosting rounds.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the trees.")] = 0,
    models: Annotated[
        int, typer.Option(help="Boosters averaged, each with its own seed (docs/model.md).")
    ] = 1,
) -> None:
    """Train a gradient-boosted model on [from, to) with the labels known at --as-of."""
    t_start, t_to = parse_window(start, end)
    moment = parse_time(as_of, "--as-of")
    ws = open_history(home)
    first, last = _span(History(ws))
    moment = moment or last
    t_end = t_to or moment
    if (
        (t_start is not None and t_start > last)
        or t_end <= first
        or (t_start is not None and t_start >= t_end)
    ):
        # Checked here, before the profiles are replayed, and with the history's span: "no
        # transactions" alone would not say which option to move, nor where to.
        window = f"[{_day(t_start) if t_start else 'start of history'}, {_day(t_end)})"
        why = (
            ""
            if t_to
            else " (--to defaults to --as-of)"
            if as_of
            else " (--to defaults to the end of history)"
        )
        raise NoDataError(
            f"no payment in the training window {window}{why}; the history runs from "
            f"{_day(first)} to {_day(last)}"
        )
    store = open_store(ws) if ws.has_store else None
    try:
        with stages(4, "training") as stage:
            trained = train_model(
                ws,
                t_start,
                t_end,
                moment,
                datetime.now(UTC),
                on_stage=stage,
                store=store,
                n_estimators=trees,
                seed=seed,
                n_models=models,
                target_false_decline_rate=false_decline_rate,
                target_challenge_rate=challenge_rate,
            )
    finally:
        if store is not None:
            store.close()
    if store is not None:
        console.print("with the payments and labels the service recorded since the import")
    table = Table(
        title=f"model {trained.version}: {trained.rows:,} payments, "
        f"{trained.frauds:,} frauds known at {moment:%Y-%m-%d %H:%M}"
    )
    table.add_column("held-out metric (last 20% of the settled rows, in time)")
    table.add_column("value", justify="right")
    for name, value in trained.metrics.items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else f"{value:,}")
    t = trained.model.thresholds_
    table.add_row("decline when score >", f"{t.decline:.4f}")
    table.add_row("challenge when score >", f"{t.challenge:.4f}")
    console.print(table)
    console.print(f"stored as {trained.version} in {ws.models_dir}; later decisions use it")


def _span(history: History) -> tuple[datetime, datetime]:
    """The first and the last payment's times (the history is not empty)."""
    with history.connect() as con:
        # Through Arrow: DuckDB's own fetch of a TIMESTAMPTZ needs pytz.
        row = con.sql(
            "SELECT min(timestamp) AS a, max(timestamp) AS b FROM transactions"
        ).to_arrow_table()
    return row["a"][0].as_py(), row["b"][0].as_py()


def _day(t: datetime) -> str:
    """A date when ``t`` is midnight (as the user most likely typed it), else to the minute."""
    midnight = (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0)
    return f"{t:%Y-%m-%d}" if midnight else t.isoformat(timespec="minutes")


@app.command("replay")
def replay_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="CSV (or .parquet) of the decisions.", callback=output_file),
    ],
    home: Home = None,
    start: From = None,
    end: To = None,
    rules_only: Annotated[
        bool,
        typer.Option(
            "--rules-only",
            help="Decide on the rule set alone, without a model (required when none is trained).",
        ),
    ] = False,
) -> None:
    """Run history in [from, to) through the decision engine exactly as live."""
    t_start, t_end = parse_window(start, end)
    ws = open_history(home)
    if not rules_only and not ModelRegistry.for_workspace(ws).versions():
        # Without a model the engine approves whatever no rule stops: the default rule set stops
        # almost nothing, so a replay would approve nearly every payment, frauds included.
        raise ConfigurationError(
            f"no model in {ws.home}: run `cardwatch train` first, or pass --rules-only to "
            "decide on the rules alone"
        )
    parts = engine_parts(ws)
    if rules_only:
        parts = replace(parts, scorer=None, model_version=None, policy=Policy())
    with stages(2, "replay") as stage:
        decisions = replay_workspace(ws, t_start, t_end, parts, on_stage=stage)
    if out.suffix == ".parquet":
        pq.write_table(decisions, out)
    else:
        pacsv.write_csv(
            decisions.select(["txn_id", "score", "action", "response_code", "reasons"]), out
        )
    counts = decisions.group_by("action").aggregate([("txn_id", "count")]).to_pylist()
    summary = ", ".join(f"{r['action']} {r['txn_id_count']:,}" for r in counts)
    console.print(
        f"{decisions.num_rows:,} decisions ({summary}) with model "
        f"{parts.model_version or 'none'} and rules v{parts.rules_version or 0} → {out}"
    )
