"""``cardwatch train`` and ``cardwatch replay``: learn a model at a moment, and run history
through the engine exactly as live."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_workspace, stages
from cardwatch.cli.times import parse_time
from cardwatch.runtime import engine_parts, replay_workspace, train_model
from cardwatch.store.history import History

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
    ws = open_workspace(home)
    history = History(ws)
    if history.is_empty():
        console.print("[red]no history[/]: run `cardwatch import FILE` first")
        raise typer.Exit(1)
    moment = parse_time(as_of, "--as-of")
    if moment is None:
        with history.connect() as con:
            moment = (
                con.sql("SELECT max(timestamp) AS t FROM transactions")
                .to_arrow_table()["t"][0]
                .as_py()
            )
    t_end = parse_time(end, "--to") or moment
    with stages(4, "training") as stage:
        trained = train_model(
            ws,
            parse_time(start, "--from"),
            t_end,
            moment,
            datetime.now(UTC),
            on_stage=stage,
            n_estimators=trees,
            seed=seed,
            n_models=models,
            target_false_decline_rate=false_decline_rate,
            target_challenge_rate=challenge_rate,
        )
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


@app.command("replay")
def replay_command(
    out: Annotated[Path, typer.Option("--out", help="CSV (or .parquet) of the decisions.")],
    home: Home = None,
    start: From = None,
    end: To = None,
) -> None:
    """Run history in [from, to) through the decision engine exactly as live."""
    ws = open_workspace(home)
    parts = engine_parts(ws)
    with stages(2, "replay") as stage:
        decisions = replay_workspace(
            ws, parse_time(start, "--from"), parse_time(end, "--to"), parts, on_stage=stage
        )
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
