"""``cardwatch demo``: the whole story on a simulated issuer, end to end.

Each act is one capability, run the way a user would run it, so the demo doubles as a smoke test
of the README's tour: a world is simulated and imported; a model is trained on what was known the
day a till breach began and the engine decides the months after; the breach is found from the
first fraud reports and the exposed cards are handled; then the service answers a day of payments
over ISO 8583, a stopped cardholder gets a notice and unblocks themselves.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer
from rich.panel import Panel
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_workspace, progress, stages
from cardwatch.importer import import_cards, import_file
from cardwatch.pan import luhn_valid
from cardwatch.runtime import engine_parts, replay_workspace, train_model
from cardwatch.store.history import History
from cardwatch.workspace import Workspace
from cardwatch.world import World, WorldConfig, simulate

__all__ = ["demo", "synthetic_pan"]


def synthetic_pan(card_id: str) -> str:
    """A Luhn-valid card number for a simulated card (BIN 999000, never issued), so that the
    demo's payments arrive as real authorisations do: with a PAN, tokenised at the edge.

    >>> synthetic_pan("c0000082")
    '9990000000000821'
    """
    body = "999000" + "".join(ch for ch in card_id if ch.isdigit()).zfill(9)[-9:]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _act(title: str, text: str) -> None:
    console.print()
    console.print(Panel(text, title=f"[bold]{title}", title_align="left", expand=False))


def _pans(table: pa.Table) -> pa.Table:
    ids = table.column("card_id").to_pylist()
    mapping = {c: synthetic_pan(c) for c in set(ids)}
    i = table.column_names.index("card_id")
    return table.set_column(i, "card_id", pa.array([mapping[c] for c in ids], pa.string()))


# -- act 1 -------------------------------------------------------------------------------------


def act_world(ws: Workspace, seed: int, cards: int | None) -> tuple[World, pa.Table]:
    """Simulate, import all but the last day (the live act replays it), return the world and
    the held-out day."""
    _act(
        "1 · A simulated issuer",
        "A French issuer's cards over four months: everyday spending, "
        "travel, honest payments to US web hosts and airlines, and fraud — including a "
        "2013-style till breach at a national chain.",
    )
    config = WorldConfig(seed=seed) if cards is None else WorldConfig(seed=seed, cards=cards)
    with progress() as p:
        task = p.add_task("simulating", total=None)
        world = simulate(config, on_step=lambda what: p.update(task, description=what))
        p.update(task, total=1, completed=1, description="simulated")
    txns = world.transactions
    ts = txns.column("timestamp")
    last_day = pc.max(ts).as_py().replace(hour=0, minute=0, second=0, microsecond=0)
    before = pc.less(ts, pa.scalar(last_day, ts.type))
    held_out = txns.filter(pc.invert(before))
    # The issuer's export carries card numbers; they are tokenised on import and the export
    # itself stays outside the workspace and is deleted.
    export = Path(tempfile.mkdtemp(prefix="cardwatch-export-"))
    try:
        pq.write_table(_pans(txns.filter(before)), export / "transactions.parquet")
        pq.write_table(
            _pans(
                world.cards.select(
                    ["card_id", "customer_id", "home_country", "home_lat", "home_lon"]
                )
            ),
            export / "cards.parquet",
        )
        history = History(ws)
        with console.status("importing: checking every row, tokenising card numbers"):
            import_cards(history, export / "cards.parquet", ws.pan_key())
            result = import_file(history, export / "transactions.parquet", ws.pan_key())
    finally:
        shutil.rmtree(export, ignore_errors=True)
    console.print(
        f"imported {result.imported:,} transactions into {ws.home} "
        f"(the last day, {held_out.num_rows:,} payments, is kept for the live act)"
    )
    stats = world.truth["stats"]
    t = Table(title="what happened in the world")
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
    console.print(t)
    return world, held_out


# -- act 2 -------------------------------------------------------------------------------------


def act_decisions(ws: Workspace, world: World, trees: int) -> datetime:
    breach = world.truth["breaches"][0]
    as_of = datetime.fromisoformat(breach["window_start"])
    _act(
        "2 · Deciding every payment",
        f"A model is trained on {as_of:%d %B %Y}, the day the "
        "breach began, with only the fraud reported by then. The engine then decides every "
        "payment of the following months, exactly as it would have live.",
    )
    started = time.perf_counter()
    with stages(4, "training") as stage:
        trained = train_model(
            ws, None, as_of, as_of, datetime.now(UTC), on_stage=stage, n_estimators=trees
        )
    console.print(
        f"model {trained.version}: {trained.rows:,} payments, {trained.frauds:,} "
        f"frauds known; held-out AUC {trained.metrics['auc']:.3f}, average precision "
        f"{trained.metrics['average_precision']:.3f} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    started = time.perf_counter()
    with stages(2, "replay") as stage:
        decisions = replay_workspace(ws, as_of, None, engine_parts(ws), on_stage=stage)
    took = time.perf_counter() - started
    console.print(
        f"{decisions.num_rows:,} payments decided in {took:.1f} s "
        f"({decisions.num_rows / max(took, 1e-9):,.0f} per second, profiles included)"
    )
    console.print(_outcomes(world, decisions))
    return as_of


def _outcomes(world: World, decisions: pa.Table) -> Table:
    """Caught fraud against honest cardholders stopped; and the blanket rule for comparison."""
    truth = world.transactions.select(
        ["txn_id", "card_id", "amount", "channel", "merchant_country", "scenario"]
    )
    cards = world.cards.select(["card_id", "home_country"])
    rows = decisions.join(truth, "txn_id").join(cards, "card_id")
    fraud = pc.not_equal(rows.column("scenario"), "").to_numpy(zero_copy_only=False)
    action = np.asarray(rows.column("action").to_pylist())
    amount = rows.column("amount").to_numpy()
    card = np.asarray(rows.column("card_id").to_pylist())
    cnp = np.isin(np.asarray(rows.column("channel").to_pylist()), ["ecommerce", "moto"])
    country = np.asarray(rows.column("merchant_country").to_pylist(), dtype=object)
    home = np.asarray(rows.column("home_country").to_pylist(), dtype=object)
    stopped = np.isin(action, ["decline", "challenge"])
    declined = action == "decline"
    honest = ~fraud
    xb_cnp = honest & cnp & (country != home)
    blanket = cnp & (country == "US")

    t = Table(title="what the engine did (ground truth of the simulation)")
    t.add_column("")
    t.add_column("cardwatch", justify="right")
    t.add_column('blanket "decline card-not-present to US"', justify="right")

    def share(part: np.ndarray, whole: np.ndarray) -> str:
        return f"{part.sum() / max(whole.sum(), 1):.2%}"

    def amount_share(mask: np.ndarray) -> str:
        return f"{amount[mask & fraud].sum() / max(amount[fraud].sum(), 1e-9):.1%}"

    t.add_row("fraud amount stopped", amount_share(stopped), amount_share(blanket))
    t.add_row(
        "honest payments declined",
        share(declined & honest, honest),
        share(blanket & honest, honest),
    )
    t.add_row("honest payments challenged", share((action == "challenge") & honest, honest), "—")
    t.add_row(
        "honest cross-border online payments declined",
        share(declined & xb_cnp, xb_cnp),
        share(blanket & xb_cnp, xb_cnp),
    )
    t.add_row(
        "honest cardholders declined at least once",
        f"{len(set(card[declined & honest])):,}",
        f"{len(set(card[blanket & honest])):,}",
    )
    return t


# -- act 3 -------------------------------------------------------------------------------------


def act_breach(ws: Workspace, world: World, start: datetime, notify: bool) -> None:
    from cardwatch.breach import detect_daily
    from cardwatch.respond import respond
    from cardwatch.store.sql import open_store

    breach = world.truth["breaches"][0]
    _act(
        "3 · Finding the breach",
        "Every day, cardwatch looks for the common point of purchase "
        "of the cards reported defrauded, against chance — popular shops and heavy spenders "
        "discounted. In 2013 the retailer heard of its breach after 15 days, the public after "
        "22.",
    )
    history = History(ws)
    end = pc.max(history.table().column("timestamp")).as_py()
    first_report = datetime.fromisoformat(breach["first_report_at"])
    window_start = datetime.fromisoformat(breach["window_start"])
    found = None
    with (
        console.status("re-running detection as of each day since the breach began"),
        history.connect() as con,
    ):
        for day, suspect in detect_daily(con, start, end):
            clones = suspect.basis == "counterfeit_use"
            cards = "cards seen paying as clones" if clones else "fraud cards"
            console.print(
                f"{day:%d %b %Y}: alert — {suspect.merchant_id} "
                f"(score {suspect.score:.1f}, {suspect.fraud_cards} {cards} of "
                f"{suspect.exposed_cards:,} exposed)"
            )
            if breach["chain"] in (suspect.chain, suspect.merchant_id) or set(
                suspect.merchant_ids or [suspect.merchant_id]
            ) & set(breach["merchant_ids"]):
                found = (day, suspect)
                break
    if found is None:
        console.print("[yellow]the breach was not found in this world's history")
        return
    day, suspect = found
    console.print(
        f"[bold]found {(day - window_start).days} days after the breach began, "
        f"{(day - first_report) / timedelta(days=1):.1f} days after the first fraud "
        "report[/]"
    )
    store = open_store(ws)
    result = respond(ws, store, suspect.key, now=day, as_of=day, notify=notify, key=ws.secret_key())
    s = result.summary()
    t = Table(title=f"response to {suspect.merchant_id}")
    t.add_column("")
    t.add_column("", justify="right")
    for label, key in (
        ("cards exposed (unique)", "cards"),
        ("customers exposed", "customers"),
        ("payments at the point in the window", "transactions"),
        ("victims already (fraud reported)", "victims"),
        ("cases opened for analysts, victims first", "cases_opened"),
        ("cardholders notified", "notices_queued"),
    ):
        t.add_row(label, f"{s[key]:,}")
    t.add_row(
        "stores covered",
        f"{s['stores']:,} ({'the whole chain; ' if s['chain_wide'] else ''}"
        f"victims at {s['stores_with_victims']:,} so far)",
    )
    plan = result.plan
    window = f"{plan.suspect.window_start:%Y-%m-%d} .. {plan.suspect.window_end:%Y-%m-%d}"
    t.add_row("compromise window", window)
    t.add_row("data stolen", plan.data_stolen)
    for action, count in plan.counts.items():
        t.add_row(f"reissue plan: {action.replace('_', ' ')}", f"{count:,}")
    console.print(t)
    if not notify:
        console.print(
            "The notices to the exposed cardholders wait for the analysts: in the "
            "console, Breaches → notify (a second supervisor approves)."
        )


# -- command -----------------------------------------------------------------------------------


@app.command()
def demo(
    home: Home = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 7,
    cards: Annotated[int | None, typer.Option(help="Number of cards (default 10,000).")] = None,
    trees: Annotated[int, typer.Option(help="Boosting rounds of the demo's model.")] = 150,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving at the end (Ctrl-C stops).")
    ] = True,
) -> None:
    """The whole story on a simulated issuer: world, decisions, breach, cardholders."""
    started = time.perf_counter()
    ws = open_workspace(home or Path(".cardwatch") / "demo")
    for old in (ws.history_dir, ws.models_dir):
        shutil.rmtree(old, ignore_errors=True)
        old.mkdir(parents=True)
    for db in ws.home.glob("cardwatch.db*"):
        db.unlink()
    world, held_out = act_world(ws, seed, cards)
    as_of = act_decisions(ws, world, trees)
    act_breach(ws, world, as_of, notify=not serve)
    from cardwatch.cli.demo_live import act_live

    act_live(ws, world, held_out, keep_serving=serve)
    console.print(f"\n[bold green]demo finished[/] in {time.perf_counter() - started:.0f} s")
