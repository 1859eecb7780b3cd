"""``cardwatch breach``: find points of compromise in the workspace history, list the cards
they exposed, and respond. Thin: the work is in :mod:`cardwatch.breach` and
:mod:`cardwatch.respond`.

When the workspace has a store (``$CARDWATCH_DATABASE_URL``, or its SQLite file), every command
reads what the service knows (:class:`~cardwatch.live_history.LiveHistory`): the imported
history, the payments the service decided since it ends and the fraud reported to the store;
else the imported history alone. ``respond`` always has a store (it writes the response there)."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardwatch.breach import DetectConfig, Held, Suspect, detect, survey
from cardwatch.breach.exposure import exposure, reissue_plan, triage
from cardwatch.breach.response import ACTIONS, REISSUE_COLUMNS, ResponsePlan
from cardwatch.cli.app import Home, app, console, open_history, output_file
from cardwatch.cli.times import parse_time
from cardwatch.errors import NotFoundError
from cardwatch.live_history import LiveHistory
from cardwatch.respond import HistorySource, ResponseResult, end_of_history, respond
from cardwatch.store.history import History
from cardwatch.store.sql import open_store
from cardwatch.workspace import Workspace

__all__ = ["breach_app"]

breach_app = typer.Typer(
    help="Points of compromise: detect, exposure, then respond.", no_args_is_help=True
)
app.add_typer(breach_app, name="breach")

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Moment of the analysis, ISO 8601 (default: end of history)."),
]

Clones = Annotated[
    bool,
    typer.Option(
        "--clones/--no-clones",
        envvar="CARDWATCH_DETECT_CLONES",
        help="Also search from the cards seen paying as clones (a stripe read where the card "
        "never used its chip, while its chip was read too far away to have travelled), reported "
        "or not: days earlier than the reports, unconfirmed; such alerts say basis "
        "counterfeit_use. Off by default: the fraud reports alone.",
    ),
]


def _config(clones: bool) -> DetectConfig:
    return DetectConfig(counterfeit_use=clones)


def _has_store(ws: Workspace) -> bool:
    return bool(os.environ.get("CARDWATCH_DATABASE_URL")) or (ws.home / "cardwatch.db").exists()


def _source(home: Path | None, value: str | None) -> tuple[HistorySource, datetime]:
    """What to read and as of when: the live history when the workspace has a store (read
    once, then closed), else the imported one; the moment is --as-of, else its last payment
    (as ``respond`` does, so that the three commands look at the same moment by default).
    Refused when the workspace has no history: there would be nothing to search, and "no point
    of compromise" would read as a clean bill."""
    moment = parse_time(value, "--as-of")
    ws = open_history(home)
    if not _has_store(ws):
        history = History(ws)
        return history, moment or end_of_history(history, datetime.now(UTC))
    store = open_store(ws)
    try:
        live = LiveHistory(ws, store, moment)
    finally:
        store.close()
    if moment is None:
        moment = end_of_history(live, datetime.now(UTC))
        live = live.known_at(moment)
    return live, moment


def _table(found: list[Suspect]) -> Table:
    table = Table(title="Suspected points of compromise", header_style="bold")
    for col in ("#", "merchant", "stores", "window", "fraud cards", "exposed", "score"):
        table.add_column(
            col, justify="right" if col in {"#", "fraud cards", "exposed", "score"} else "left"
        )
    for i, s in enumerate(found, start=1):
        table.add_row(
            str(i),
            f"{s.merchant_id} ({s.level})",
            ", ".join(s.merchant_ids[:5]),
            f"{s.window_start:%Y-%m-%d} → {s.window_end:%Y-%m-%d}",
            str(s.fraud_cards),
            str(s.exposed_cards),
            f"{s.score:.1f}",
        )
    return table


def _held_table(held: list[Held]) -> Table:
    table = Table(
        title="Held: not yet told apart (one of each pair is probably leaking)",
        header_style="bold",
        caption="Not alerts: the next victims decide. Who knows which can respond to either "
        "(`cardwatch breach respond KEY`).",
    )
    for col in ("place", "or", "fraud cards at both", "scores"):
        table.add_column(col, justify="left" if col in ("place", "or") else "right")
    for h in held:
        table.add_row(
            h.place.key, h.rival.key, str(h.place.fraud_cards),
            f"{h.place.score:.1f} / {h.rival.score:.1f}",
        )  # fmt: skip
    return table


@breach_app.command("detect")
def detect_command(
    home: Home = None,
    as_of: AsOf = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON list here.", callback=output_file)
    ] = None,
    clones: Clones = False,
) -> None:
    """Rank suspected points of compromise, using only fraud reported by --as-of."""
    history, moment = _source(home, as_of)
    with history.connect() as con:
        result = survey(con, moment, _config(clones))
    found = result.suspects
    console.print(_table(found) if found else f"No point of compromise as of {moment:%Y-%m-%d}.")
    if result.held:
        console.print(_held_table(result.held))
    text = json.dumps([s.to_dict() for s in found], indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


@breach_app.command("exposure")
def exposure_command(
    merchant: Annotated[
        str,
        typer.Argument(help="Suspect's key (chain:NAME, store:ID), merchant id or chain name."),
    ],
    home: Home = None,
    as_of: AsOf = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Reissue plan CSV.", callback=output_file)
    ] = None,
    clones: Clones = False,
) -> None:
    """The cards exposed at a detected suspect, most at risk first."""
    history, moment = _source(home, as_of)
    with history.connect() as con:
        found = detect(con, moment, _config(clones))
        match = [s for s in found if merchant in (s.key, s.merchant_id, *s.merchant_ids)]
        if not match:
            keys = ", ".join(s.key for s in found) or "none"
            raise NotFoundError(
                f"no suspect {merchant!r} as of {moment:%Y-%m-%d} (suspects then: {keys}; "
                "`cardwatch breach detect` ranks them)"
            )
        exp = exposure(con, match[0])
        ranked = triage(con, exp, moment)
    stores = ", ".join(exp.merchant_ids[:8]) + (" …" if len(exp.merchant_ids) > 8 else "")
    console.print(
        f"{len(exp.cards)} cards ({exp.customers} customers, {exp.transactions} "
        f"payments) exposed at {len(exp.merchant_ids)} stores ({stores})"
        + (" — every store of the chain" if exp.chain_wide else "")
        + f" {exp.window_start:%Y-%m-%d} → {exp.window_end:%Y-%m-%d}"
    )
    plan = reissue_plan(ranked, match[0], len(exp.merchant_ids))
    if out and plan:
        with out.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(plan[0]))
            writer.writeheader()
            writer.writerows(plan)
    else:
        typer.echo(json.dumps(plan[:50], indent=2))


def _summary(result: ResponseResult) -> Table:
    plan, s = result.plan, result.plan.suspect
    table = Table(
        title=f"Response to {s.merchant_id} ({s.level}), "
        f"{s.window_start:%Y-%m-%d} → {s.window_end:%Y-%m-%d}",
        header_style="bold",
        show_header=False,
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("stores covered", plan.stores),
        ("unique cards exposed", len(plan.cards)),
        ("customers exposed", plan.customers),
        ("transactions at the point", plan.transactions),
        ("victims already (fraud reported)", plan.victims),
        *((f"plan: {a.replace('_', ' ')}", plan.counts[a]) for a in ACTIONS),
        ("cards added by this response", result.exposures_added),
        ("cards re-ranked", result.exposures_reranked),
        ("cases opened (victims first)", result.cases_opened),
        ("notices queued", result.notices_queued),
        ("exposed cardholders not yet told", result.untold),
    ]
    for what, n in rows:
        table.add_row(what, f"{n:,}")
    table.caption = (
        f"breach {result.breach.breach_id} · data stolen: {plan.data_stolen}"
        + (" · window widened" if result.widened else "")
        + (" · already notified before" if result.already_notified else "")
    )
    return table


def _write_plan(plan: ResponsePlan, out: Path) -> None:
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(REISSUE_COLUMNS))
        writer.writeheader()
        writer.writerows(plan.rows())


@breach_app.command("respond")
def respond_command(
    ident: Annotated[
        str, typer.Argument(help="Breach id, suspect key (chain:NAME) or merchant/chain name.")
    ],
    home: Home = None,
    as_of: AsOf = None,
    notify: Annotated[
        bool, typer.Option("--notify/--no-notify", help="Queue notices to exposed cardholders.")
    ] = True,
    reissue_out: Annotated[
        Path | None,
        typer.Option(
            "--reissue-out", help="Write the reissue plan CSV here.", callback=output_file
        ),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            envvar="CARDWATCH_BASE_URL",
            help="Where cardholders' links point (the service's public address).",
        ),
    ] = "http://127.0.0.1:8000",
    stores_only: Annotated[
        bool | None,
        typer.Option(
            "--stores-only/--whole-chain",
            help="For a chain-level breach: only the stores with victims, or every store of "
            "the chain (default: as last responded, else the whole chain).",
            show_default=False,
        ),
    ] = None,
    clones: Clones = False,
) -> None:
    """Record the breach and its exposure, flag exposed cards, queue victims for analysts,
    notify cardholders and plan reissues. Safe to run again: a later --as-of updates the same
    breach (wider window, cards re-ranked, new cards flagged and told; nobody told twice)."""
    moment = parse_time(as_of, "--as-of")
    ws = open_history(home)
    store = open_store(ws)
    try:
        result = respond(
            ws,
            store,
            ident,
            now=datetime.now(UTC),
            as_of=moment,  # default: the last payment, imported or decided live
            notify=notify,
            base_url=base_url,
            chain_wide=None if stores_only is None else not stores_only,
            config=_config(clones),
        )
    finally:
        store.close()
    console.print(_summary(result))
    console.print(f"Covers {result.plan.scope}.")
    if reissue_out:
        _write_plan(result.plan, reissue_out)
    typer.echo(json.dumps(result.summary(), indent=2))
