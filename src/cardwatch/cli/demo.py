"""``cardwatch demo``: the whole story on a simulated issuer, end to end.

Each act is one capability, run exactly as a user would run it from the command line, so the demo
doubles as a smoke test of the README's tour.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_workspace, progress
from cardwatch.importer import import_cards, import_file
from cardwatch.store.history import History
from cardwatch.workspace import Workspace
from cardwatch.world import World, WorldConfig, simulate


def _act(title: str, text: str) -> None:
    console.print()
    console.print(Panel(text, title=f"[bold]{title}", title_align="left", expand=False))


def act_world(ws: Workspace, seed: int, cards: int | None) -> World:
    _act(
        "1 · A simulated issuer",
        "A French issuer's cards for four months: everyday spending, "
        "travel, honest payments to US web hosts and airlines, and fraud — including a 2013-style "
        "till breach at a national chain.",
    )
    from cardwatch.cli.simulate import Format, write_world

    config = WorldConfig(seed=seed) if cards is None else WorldConfig(seed=seed, cards=cards)
    with progress() as p:
        task = p.add_task("simulating", total=None)
        world = simulate(config, on_step=lambda what: p.update(task, description=what))
        p.update(task, total=1, completed=1, description="simulated")
    out = ws.home / "demo-world"
    write_world(world, out, Format.parquet)
    history = History(ws)
    with console.status("importing into the workspace"):
        import_cards(history, out / "cards.parquet", ws.pan_key())
        result = import_file(history, out / "transactions.parquet", ws.pan_key())
    console.print(f"imported {result.imported:,} transactions into {ws.home}")
    console.print(_world_summary(world))
    return world


def _world_summary(world: World) -> Table:
    stats = world.truth["stats"]
    t = Table(title="what happened in the world", show_header=True)
    t.add_column("")
    t.add_column("", justify="right")
    t.add_row("transactions", f"{stats['transactions']:,}")
    t.add_row("cards / merchants", f"{world.cards.num_rows:,} / {world.merchants.num_rows:,}")
    t.add_row("fraud transactions", f"{stats['fraud_transactions']:,} ({stats['fraud_rate']:.3%})")
    for name, n in (stats.get("transactions_by_scenario") or {}).items():
        if name != "honest":
            t.add_row(f"  {name}", f"{n:,}")
    for b in world.truth["breaches"]:
        t.add_row(f"breach at {b['chain']}", f"{b['window_start'][:10]} .. {b['window_end'][:10]}")
        t.add_row(
            "  exposed / defrauded cards",
            f"{len(b['exposed_cards']):,} / {len(b['defrauded_cards']):,}",
        )
    return t


@app.command()
def demo(
    home: Home = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 7,
    cards: Annotated[
        int | None, typer.Option(help="Number of cards (default: the preset's).")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="End by serving.")] = True,
) -> None:
    """The whole story on a simulated issuer: world, decisions, breach, cardholders."""
    started = time.perf_counter()
    ws = open_workspace(home or Path(".cardwatch") / "demo")
    if not History(ws).is_empty():
        console.print(f"[yellow]{ws.home} already holds history: starting it afresh")
        for part in ws.history_dir.glob("*.parquet"):
            part.unlink()
    act_world(ws, seed, cards)
    console.print(f"\n[bold green]demo finished[/] in {time.perf_counter() - started:.0f} s")
