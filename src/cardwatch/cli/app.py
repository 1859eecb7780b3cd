"""The ``cardwatch`` Typer application and what every verb shares: the workspace option, the
console, progress bars, and the one place where the project's errors become messages.

A verb raises :class:`~cardwatch.errors.CardwatchError` (or lets the core's propagate) for
anything the user can fix, and :class:`_Group` prints it as one ``error: …`` line with exit
status 1: no traceback, and no ``try``/``except`` in each verb. Anything else is a bug and keeps
its traceback."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from cardwatch.errors import CardwatchError, NoDataError
from cardwatch.pan import mask_pans_in
from cardwatch.store.history import History
from cardwatch.workspace import Workspace

__all__ = [
    "Home",
    "app",
    "console",
    "fail",
    "open_history",
    "open_workspace",
    "progress",
    "stages",
    "track",
]

T = TypeVar("T")

console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise (status 1). The message
    is shown as written (no Rich markup: a window like ``[a, b)`` must survive) and with any PAN
    masked, since terminals end up in logs and screenshots."""
    console.print(f"[red]error[/]: {escape(mask_pans_in(message))}")
    return typer.Exit(1)


def output_file(path: Path | None) -> Path | None:
    """Typer callback for an option naming a file to write: refuse a missing directory before
    any work is done, so that a long replay or a breach response (already stored) does not end
    in a traceback with its file unwritten."""
    if path is not None and not path.parent.is_dir():
        raise typer.BadParameter(f"directory {path.parent} does not exist")
    if path is not None and path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; name a file")
    return path


class _Group(TyperGroup):
    """The root command: every verb and sub-verb runs inside its :meth:`invoke`, so this is the
    one place where a :class:`~cardwatch.errors.CardwatchError` (a mistake the user can fix: an
    unknown breach, an empty workspace, a window with no payment) becomes a clean message and a
    non-zero exit instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CardwatchError as e:
            raise fail(str(e)) from None


app = typer.Typer(
    cls=_Group,
    name="cardwatch",
    help="Fraud decisioning and breach response for card issuers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

Home = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace directory (default $CARDWATCH_HOME or ./.cardwatch)."),
]


class _MaskingFilter(logging.Filter):
    """Masks any PAN that slipped into a log record: logs must never hold one (PCI DSS 3.5.1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pans_in(record.getMessage())
        record.args = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    handler.addFilter(_MaskingFilter())
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    # Client libraries log every request URL at INFO; a URL may carry a signed link.
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def open_workspace(home: Path | None) -> Workspace:
    return Workspace.open(home)


def open_history(home: Path | None) -> Workspace:
    """The workspace at ``home`` for a verb that analyses its history; :class:`NoDataError`
    when nothing was imported there.

    Why refuse: an analysis of an empty workspace finds nothing and would say so as if it had
    looked ("no point of compromise", "0 decisions"), so a forgotten import or a mistyped
    ``--home`` would pass for a clean bill. Checked before :meth:`Workspace.open`, which creates
    the folders, so that a wrong ``--home`` leaves nothing behind. (The path is resolved as
    :meth:`Workspace.open` resolves it.)"""
    where = Workspace(
        Path(home or os.environ.get("CARDWATCH_HOME") or ".cardwatch").expanduser().resolve()
    )
    if History(where).is_empty():
        raise NoDataError(
            f"no history in {where.home}: import transactions first "
            f"(`cardwatch import FILE --home {where.home}`), or point --home or "
            "$CARDWATCH_HOME at the workspace that has them"
        )
    return open_workspace(where.home)


def progress() -> Progress:
    """A Rich progress bar for long jobs, drawn on stderr so that stdout stays machine-readable."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    with progress() as p:
        yield from p.track(items, description=description, total=total)


@contextmanager
def stages(total: int, description: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over the stages of a job: each call to the yielded function completes the
    stage under way and names the next one."""
    with progress() as p:
        task = p.add_task(description, total=total)
        started = [False]

        def step(name: str) -> None:
            if started[0]:
                p.advance(task)
            started[0] = True
            p.update(task, description=name)

        yield step
        p.update(task, completed=total, description=f"{description}: done")


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    configure_logging(logging.DEBUG if verbose else logging.INFO)
