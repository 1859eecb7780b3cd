"""``cardwatch serve``: the authorisation service (HTTP and ISO 8583), the cardholder endpoints,
the analyst console, and the notification worker, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import typer
import uvicorn

from cardwatch.cli.app import Home, app, console, open_workspace
from cardwatch.customer.channels import LogChannel
from cardwatch.customer.outbox import OutboxWorker
from cardwatch.server.assembly import Running, build
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
) -> None:
    """HTTP, ISO 8583 and the outbox worker until ``stop`` is set (or the server exits)."""
    # The warmed-up profiles and model are long-lived: keep them out of the collector's full
    # passes, which otherwise pause every answer for a few hundred milliseconds now and then.
    gc.collect()
    gc.freeze()
    services = running.services
    config = uvicorn.Config(
        running.app, host=host, port=http_port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    worker = OutboxWorker(services.store, {"log": LogChannel()})
    tasks = [asyncio.create_task(server.serve()), asyncio.create_task(worker.run(stop))]
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
) -> None:
    """Serve authorisations (HTTP and ISO 8583), cardholder links and the analyst console."""
    ws = open_workspace(home)
    with console.status("loading the model and rebuilding profiles from history"):
        running = build(ws, base_url=base_url or f"http://{host}:{http_port}")
    console.print(
        f"cardwatch serving: http://{host}:{http_port}/docs (API), /console (analysts)"
        + ("" if no_iso else f", ISO 8583 on {host}:{iso_port}")
        + f"; profiles warmed on {running.warmed:,} transactions"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_all(running, host, http_port, None if no_iso else iso_port, asyncio.Event())
        )
