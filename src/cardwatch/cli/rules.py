"""``cardwatch rules …``: list, show, save and backtest versioned rule sets.

Thin: parsing, checking, storing and counting live in :mod:`cardwatch.rules`; this module reads
files and the workspace, builds the replayed feature columns, and prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from cardwatch.cli.app import Home, app, console, open_workspace
from cardwatch.errors import CardwatchError
from cardwatch.rules import (
    KNOWN_ATTRIBUTES,
    RuleSet,
    RuleStore,
    backtest,
    compile_ruleset,
    load_ruleset,
)
from cardwatch.rules.render import backtest_tables, ruleset_table
from cardwatch.workspace import Workspace

__all__ = ["rules_app"]

rules_app = typer.Typer(
    help="Rule sets: list the versions, show one, save a new one, backtest a candidate.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")

out = Console()  # tables and JSON go to stdout; messages to stderr


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error[/]: {message}")
    return typer.Exit(1)


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{text!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _read(file: Path) -> RuleSet:
    try:
        return load_ruleset(file)
    except OSError as e:
        raise _fail(f"cannot read {file}: {e.strerror}") from None
    except CardwatchError as e:
        raise _fail(f"{file}: {e}") from None


@rules_app.command("list")
def list_rules(home: Home = None) -> None:
    """Stored rule-set versions, and which one is in force."""
    store = RuleStore(open_workspace(home))
    current = store.current_version()
    table = Table("version", "in force", "live", "shadow", "description", title="rule sets")
    if current is None:
        d = store.current()
        live = sum(r.live for r in d.rules)
        table.add_row("default", "yes", str(live), str(len(d.rules) - live), d.description)
    for v in store.versions():
        rs = store.get(v)
        live = sum(r.live for r in rs.rules)
        mark = "yes" + (" (pinned)" if store.pinned() == v else "") if v == current else ""
        table.add_row(f"v{v}", mark, str(live), str(len(rs.rules) - live), rs.description)
    out.print(table)


@rules_app.command("show")
def show_rules(
    version: Annotated[
        int | None, typer.Argument(help="Version (default: the one in force).")
    ] = None,
    home: Home = None,
) -> None:
    """The rules of one version, in file order, with their reasons."""
    store = RuleStore(open_workspace(home))
    try:
        rs = store.current() if version is None else store.get(version)
    except CardwatchError as e:
        raise _fail(str(e)) from None
    out.print(ruleset_table(rs))


@rules_app.command("save")
def save_rules(
    file: Annotated[Path, typer.Argument(help="A rule-set TOML file.")],
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty", help="Save even a set with no live rule (it stops every rule)."
        ),
    ] = False,
    home: Home = None,
) -> None:
    """Check a rule set against the engine's attributes and store it as a new version."""
    store = RuleStore(open_workspace(home))
    rs = _read(file)
    try:
        before = store.current()
        before_version = before.version
        before_live: int | None = sum(r.live for r in before.rules)
    except CardwatchError:  # a broken version in force must not prevent saving a fix
        before_version, before_live = None, None
    try:
        version = store.save(rs, allow_empty=allow_empty)
    except CardwatchError as e:
        raise _fail(f"{file}: {e}") from None
    live = sum(r.live for r in rs.rules)
    console.print(f"saved {file.name} as rule set v{version} ({len(rs.rules)} rules, {live} live)")
    pinned = store.pinned()
    if pinned is not None:
        console.print(
            f"[yellow]note[/]: v{pinned} stays in force (pinned); `cardwatch rules pin --latest`"
            " to follow the newest version"
        )
    elif before_live is not None and live < before_live:
        # Said loudly: fewer live rules is fewer payments protected from now on.
        was = "the default set" if before_version is None else f"v{before_version}"
        back = (
            ""
            if before_version is None
            else f"; `cardwatch rules pin {before_version}` puts it back"
        )
        console.print(
            f"[bold yellow]warning[/]: v{version} is now in force with {live} live rules;"
            f" {was} had {before_live} ({before_live - live} fewer){back}"
        )


@rules_app.command("pin")
def pin_rules(
    version: Annotated[int | None, typer.Argument(help="Version to put in force.")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Follow the newest version.")] = False,
    home: Home = None,
) -> None:
    """Put an older version back in force (rollback), or follow the newest again."""
    if (version is None) == (not latest):
        raise _fail("give a VERSION or --latest")
    store = RuleStore(open_workspace(home))
    try:
        store.pin(None if latest else version)
    except CardwatchError as e:
        raise _fail(str(e)) from None
    now = store.current_version()
    console.print(f"rule set in force: {'default' if now is None else f'v{now}'}")


class _ModelScorer:
    """The workspace's current model seen as the engine's ``Scorer``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.feature_names_in_ = model.feature_names_in_

    def score(self, x: np.ndarray) -> float:
        return float(self.model.score_one(np.asarray(x, dtype=np.float64)))

    def score_batch(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X))

    def reasons(self, x: np.ndarray, k: int) -> list[Any]:
        return list(self.model.reasons(x, k))


def replayed_columns(
    ws: Workspace, start: datetime | None, end: datetime | None, in_force: RuleSet
) -> dict[str, np.ndarray]:
    """Every attribute the rules read, plus ``card_id`` and the known ``is_fraud``, for each
    history payment in [start, end): history is replayed from its beginning (profiles need the
    past), with the model and the rule set in force, then cut to the window."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from cardwatch.model.registry import ModelRegistry
    from cardwatch.replay import feature_frame
    from cardwatch.store.history import History

    history = History(ws)
    table = history.table(None, end)
    cards = history.cards()
    registry = ModelRegistry.for_workspace(ws)
    scorer = _ModelScorer(registry.load().model) if registry.latest() else None
    if scorer is None:
        console.print("[yellow]note[/]: no model in the workspace, so no `score` to test rules on")
    frame = feature_frame(table, cards, scorer, compile_ruleset(in_force))
    keep = np.ones(table.num_rows, dtype=bool)
    if start is not None:
        ts = table.column("timestamp").to_numpy(zero_copy_only=False)
        keep = ts >= np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")
    columns: dict[str, np.ndarray] = {}
    for name in frame.column_names:
        if name not in ("timestamp", "action", "response_code", "txn_id"):
            columns[name] = frame.column(name).to_numpy(zero_copy_only=False)[keep]
    for name in ("merchant_id", "merchant_country", "mcc", "channel", "entry_mode", "currency"):
        if name in table.column_names and name not in columns:
            columns[name] = table.column(name).to_numpy(zero_copy_only=False)[keep]
    from cardwatch.profiles import DEFAULT_ISSUER_COUNTRY

    homes = dict(
        zip(*(cards.column(c).to_pylist() for c in ("card_id", "home_country")), strict=True)
    )
    card_ids = table.column("card_id")
    home = pa.array([homes.get(c) or DEFAULT_ISSUER_COUNTRY for c in card_ids.to_pylist()])
    columns["home_country"] = pc.cast(home, pa.string()).to_numpy(zero_copy_only=False)[keep]
    return columns


@rules_app.command("backtest")
def backtest_rules(
    file: Annotated[Path, typer.Argument(help="The candidate rule-set TOML file.")],
    start: Annotated[str | None, typer.Option("--from", help="First payment time (ISO).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End of the window (ISO).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    home: Home = None,
) -> None:
    """Replay history: what the candidate would have caught and whom it would have hurt."""
    ws = open_workspace(home)
    candidate = _read(file)
    try:  # refused now, naming the file, rather than after minutes of replay
        compile_ruleset(candidate, KNOWN_ATTRIBUTES)
    except CardwatchError as e:
        raise _fail(f"{file}: {e}") from None
    baseline = RuleStore(ws).current()
    try:
        with console.status("replaying history"):
            columns = replayed_columns(ws, _time(start), _time(end), baseline)
        labels = columns.pop("is_fraud")
        report = backtest(
            columns, labels, columns["amount"], columns.pop("card_id"), candidate, baseline
        )
    except CardwatchError as e:
        raise _fail(str(e)) from None
    if as_json:
        print(report.to_json())
    else:
        out.print(backtest_tables(report))
