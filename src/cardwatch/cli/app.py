"""The ``cardwatch`` Typer application and what every verb shares: the workspace option, the
console, and progress bars."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cardwatch.pan import mask_pans_in
from cardwatch.workspace import Workspace

__all__ = ["Home", "app", "console", "open_workspace", "progress", "stages", "track"]

T = TypeVar("T")

app = typer.Typer(
    name="cardwatch",
    help="Fraud decisioning and breach response for card issuers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
console = Console(stderr=True)

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
