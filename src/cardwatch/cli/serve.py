"""``cardwatch serve``: the authorisation service (HTTP and ISO 8583), the cardholder endpoints,
the analyst console, the notification worker and the daily breach detection, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

import typer
import uvicorn
import uvloop

from cardwatch.breach import DetectConfig
from cardwatch.cli.app import Home, app, console, fail, open_workspace
from cardwatch.customer.channels import LogChannel
from cardwatch.customer.outbox import OutboxWorker
from cardwatch.server.assembly import Running, build
from cardwatch.server.daily import DailyDetection, divides_day
from cardwatch.server.iso import IsoListener, StandInPolicy
from cardwatch.server.iso_handler import ServiceHandler

log = logging.getLogger(__name__)


async def serve_all(
    running: Running,
    host: str,
    http_port: int,
    iso_port: int | None,
    stop: asyncio.Event,
    clock: Callable[[], datetime] | None = None,
    detect_hour: int | None = None,
    detect_poll: float = 60.0,
    detect_every: timedelta = timedelta(days=1),
    detect_config: DetectConfig | None = None,
) -> None:
    """HTTP, ISO 8583, the outbox worker and — when ``detect_hour`` is given — the daily breach
    detection (:mod:`cardwatch.server.daily`, on the service's clock) until ``stop`` is set (or
    the server exits)."""
    # The warmed-up profiles and model are long-lived: keep them out of the collector's full
    # passes, which otherwise pause every answer for a few hundred milliseconds now and then.
    gc.collect()
    gc.freeze()
    services = running.services
    config = uvicorn.Config(
        running.app,
        host=host,
        port=http_port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
    server = uvicorn.Server(config)
    worker = OutboxWorker(services.store, {"log": LogChannel()})
    tasks = [asyncio.create_task(server.serve()), asyncio.create_task(worker.run(stop))]
    if detect_hour is not None:
        invalidate = getattr(services.service.engine.exposure, "invalidate", None)
        daily = DailyDetection(
            services.workspace,
            services.store,
            clock=clock or services.service.clock,
            hour=detect_hour,
            every=detect_every,
            config=detect_config,
            registry=services.registry,
            on_change=invalidate if callable(invalidate) else None,
        )
        tasks.append(asyncio.create_task(daily.run(stop, detect_poll)))
    listener = None
    if iso_port is not None:
        listener = IsoListener(
            ServiceHandler(services.service),
            services.pan_key,
            host,
            iso_port,
            stand_in=StandInPolicy(),
            clock=clock or running.services.service.clock,
            on_stand_in=lambda req, ans, why: running.metrics.stand_in.labels(why).inc(),
        )
        running.metrics.track_iso(listener.counters.as_dict)
        await listener.start()
        log.info("ISO 8583 listening on %s:%s", host, listener.port)
    try:
        await asyncio.wait(
            [tasks[0], asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stop.set()
        server.should_exit = True
        if listener is not None:
            await listener.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


@app.command()
def serve(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option("--http-port")] = 8000,
    iso_port: Annotated[int, typer.Option("--iso-port")] = 8583,
    no_iso: Annotated[bool, typer.Option("--no-iso", help="HTTP only.")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="Public URL for links in notices (default: local).")
    ] = None,
    detect_hour: Annotated[
        int,
        typer.Option(
            "--detect-hour",
            min=0,
            max=23,
            envvar="CARDWATCH_DETECT_HOUR",
            help="Hour (UTC) of the daily breach detection; also at start-up when a run was "
            "missed. Its alerts go to the analysts' queue; cardholders are not notified.",
        ),
    ] = 2,
    detect_every: Annotated[
        int,
        typer.Option(
            "--detect-every",
            min=1,
            max=24,
            envvar="CARDWATCH_DETECT_EVERY",
            help="Hours between breach detection runs, from --detect-hour (a divisor of 24). "
            "A run with no fraud reported and no clone seen since the last one is skipped, so "
            "frequent runs cost little on a quiet day and bring an alert hours sooner on a busy "
            "one.",
        ),
    ] = 24,
    detect_clones: Annotated[
        bool,
        typer.Option(
            "--detect-clones/--no-detect-clones",
            envvar="CARDWATCH_DETECT_CLONES",
            help="Breach detection also searches from the cards seen paying as clones (a stripe "
            "read where the card never used its chip, while its chip was read too far away to "
            "have travelled), reported or not: days earlier, unconfirmed (`breach detect "
            "--clones`). Off by default: the fraud reports alone.",
        ),
    ] = False,
    no_detect: Annotated[
        bool, typer.Option("--no-detect", help="No daily breach detection in this process.")
    ] = False,
) -> None:
    """Serve authorisations (HTTP and ISO 8583), cardholder links and the analyst console."""
    if not divides_day(timedelta(hours=detect_every)):
        raise fail(
            f"--detect-every must divide 24 evenly (1, 2, 3, 4, 6, 8, 12, 24): {detect_every}"
        )
    ws = open_workspace(home)
    with console.status("loading the model and rebuilding profiles from history"):
        running = build(ws, base_url=base_url or f"http://{host}:{http_port}")
    console.print(
        f"cardwatch serving: http://{host}:{http_port}/docs (API), /console (analysts)"
        + ("" if no_iso else f", ISO 8583 on {host}:{iso_port}")
        + f"; profiles warmed on {running.warmed:,} transactions"
        + ("" if no_detect else f"; breach detection {_cadence(detect_hour, detect_every)}")
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(
            serve_all(
                running,
                host,
                http_port,
                None if no_iso else iso_port,
                asyncio.Event(),
                detect_hour=None if no_detect else detect_hour,
                detect_every=timedelta(hours=detect_every),
                detect_config=DetectConfig(counterfeit_use=detect_clones),
            )
        )


def _cadence(hour: int, every: int) -> str:
    """When detection runs, as the start-up line says it.

    >>> _cadence(2, 24), _cadence(2, 6)
    ('daily at 02:00 UTC', 'every 6 h from 02:00 UTC')
    """
    start = f"{hour:02d}:00 UTC"
    return f"daily at {start}" if every == 24 else f"every {every} h from {start}"
