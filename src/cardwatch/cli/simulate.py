"""``cardwatch simulate --out DIR``: write a synthetic portfolio (transactions, cards, merchants,
ground truth) for trying, testing and benchmarking cardwatch without an issuer's data."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from cardwatch.cli.app import app, console, fail, progress
from cardwatch.errors import ConfigurationError
from cardwatch.world import HandbookConfig, World, WorldConfig, simulate, simulate_handbook
from cardwatch.world.portfolio import STAGES

__all__ = ["Format", "Preset", "simulate_command", "write_world"]

_FILES = ("transactions", "cards", "merchants")


class Preset(StrEnum):
    default = "default"
    handbook = "handbook"


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


def _iso_columns(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with an explicit offset (they are all UTC)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            seconds = pc.cast(table.column(i), pa.timestamp("s", tz="UTC"), safe=False)
            text = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S+00:00")
            table = table.set_column(i, f.name, text)
    return table


def write_world(world: World, out: Path, fmt: Format, advance: Any = None) -> list[Path]:
    """Write the three tables and ``truth.json`` into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in _FILES:
        table: pa.Table = getattr(world, name)
        path = out / f"{name}.{fmt.value}"
        if fmt is Format.csv:
            pacsv.write_csv(_iso_columns(table), path)
        else:
            pq.write_table(table, path, compression="zstd")
        written.append(path)
        if advance:
            advance(f"wrote {path.name}")
    path = out / "truth.json"
    path.write_text(json.dumps(world.truth, indent=1, ensure_ascii=False) + "\n")
    written.append(path)
    return written


def _summary(world: World) -> Table:
    stats = world.truth["stats"]
    t = Table(title=f"simulated world ({world.truth['preset']}, seed {world.truth['seed']})")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("transactions", f"{stats['transactions']:,}")
    t.add_row("cards", f"{world.cards.num_rows:,}")
    t.add_row("merchants", f"{world.merchants.num_rows:,}")
    t.add_row("fraud transactions", f"{stats['fraud_transactions']:,} ({stats['fraud_rate']:.3%})")
    by = stats.get("transactions_by_scenario") or stats.get("fraud_by_scenario", {})
    for name, n in by.items():
        if name != "honest":
            t.add_row(f"  {name}", f"{n:,}")
    for b in world.truth.get("breaches", [])[:1]:
        t.add_row("breach", f"{b['chain']}, {b['window_start'][:10]} .. {b['window_end'][:10]}")
        t.add_row("  exposed / defrauded cards",
                  f"{len(b['exposed_cards']):,} / {len(b['defrauded_cards']):,}")  # fmt: skip
        first = (b["first_fraud_at"] or "-")[:16], (b["first_report_at"] or "-")[:16]
        t.add_row("  first fraud / first report", " / ".join(first))
    return t


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same world.")] = 0,
    preset: Annotated[Preset, typer.Option(help="default or handbook.")] = Preset.default,
    fmt: Annotated[Format, typer.Option("--format", help="parquet or csv.")] = Format.parquet,
    cards: Annotated[
        int | None, typer.Option(help="Number of cards (handbook: customers).")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Days of history.")] = None,
) -> None:
    """Simulate a card portfolio with honest spending, a chain breach and background fraud."""
    if out.exists() and not out.is_dir():
        # Checked first: simulating takes a while and the files would have nowhere to go.
        raise typer.BadParameter(
            f"{out} is a file; give a directory (new or existing) to write the world into",
            param_hint="--out",
        )
    failed: OSError | None = None
    written: list[Path] = []
    with progress() as bar:
        task = bar.add_task("simulating", total=len(STAGES) + len(_FILES))

        def advance(what: str) -> None:
            bar.update(task, advance=1, description=what)

        try:
            if preset is Preset.handbook:
                hb = HandbookConfig(seed=seed)
                hb = HandbookConfig(
                    seed=seed, customers=cards or hb.customers, days=days or hb.days
                )
                world = simulate_handbook(hb, advance)
            else:
                config = WorldConfig(seed=seed).resized(cards=cards, days=days)
                world = simulate(config, advance)
        except ConfigurationError as e:
            console.print(f"[red]cannot simulate[/]: {e}")
            raise typer.Exit(2) from None
        bar.update(task, completed=len(STAGES))
        try:
            written = write_world(world, out, fmt, advance)
        except OSError as e:  # e.g. a parent that is a file, or no permission
            failed = e
    if failed is not None:  # reported once the progress bar is gone, not under it
        raise fail(f"cannot write the world into {out}: {failed.strerror or failed}")
    console.print(_summary(world))
    for path in written:
        typer.echo(str(path))
