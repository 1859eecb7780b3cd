"""The demo's last act: the service on localhost answers a day of payments over ISO 8583, a
cardholder whose payment was stopped gets a notice in plain words and unblocks the retry
themselves, and the analysts' console is there to look at."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import uvloop
from rich.panel import Panel
from rich.table import Table

from cardwatch.cli.app import console, progress
from cardwatch.cli.demo import _act, synthetic_pan
from cardwatch.cli.serve import serve_all
from cardwatch.pan import tokenise
from cardwatch.server.assembly import Running, build
from cardwatch.server.iso import IsoClient
from cardwatch.server.iso.acquirer import payment_of
from cardwatch.server.local import SimulatedClock, free_port
from cardwatch.workspace import Workspace
from cardwatch.world import World

__all__ = ["act_live"]


class _Server:
    """``serve_all`` in a thread of its own, stopped on exit."""

    def __init__(self, running: Running, http_port: int, iso_port: int) -> None:
        self.loop = uvloop.new_event_loop()  # as `cardwatch serve` runs
        self.stop = asyncio.Event()
        clock = running.services.service.clock
        self.thread = threading.Thread(
            target=self.loop.run_until_complete,
            args=(serve_all(running, "127.0.0.1", http_port, iso_port, self.stop, clock),),
            daemon=True,
        )
        self.http = f"http://127.0.0.1:{http_port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.http}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the demo server did not start")

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)


async def _replay_day(port: int, rows: list[dict[str, Any]], limit: int) -> list[tuple]:
    """Send the day's payments (in time order, a few in flight) and collect the answers."""
    answers: list[tuple] = []
    async with IsoClient("127.0.0.1", port, timeout_s=10) as client:
        window = asyncio.Semaphore(4)
        with progress() as p:
            task = p.add_task("ISO 8583 authorisations", total=min(len(rows), limit))

            async def one(row: dict[str, Any]) -> None:
                async with window:
                    request, answer = await client.authorise(
                        payment_of(row), synthetic_pan(row["card_id"])
                    )
                    answers.append((row, request, answer))
                    p.advance(task)

            await asyncio.gather(*(one(r) for r in rows[:limit]))
    return answers


async def _retry(port: int, row: dict[str, Any], now: datetime) -> dict[str, str]:
    """The same payment, tried again now."""
    async with IsoClient("127.0.0.1", port, timeout_s=10, first_stan=900_000) as client:
        txn = payment_of(row) | {"timestamp": now}
        _, answer = await client.authorise(txn, synthetic_pan(row["card_id"]))
        return answer


def _supervisors(running: Running) -> list[tuple[str, str]]:
    """Two supervisors: bulk actions (notify a breach's cardholders) need a second person."""
    from cardwatch.server.console.useradmin import add_user

    made = []
    for _ in range(2):
        name, password = f"analyst-{secrets.token_hex(2)}", secrets.token_urlsafe(12)
        add_user(running.services.store, name, password, "supervisor", datetime.now(UTC))
        made.append((name, password))
    return made


def act_live(
    ws: Workspace, world: World, held_out: pa.Table, keep_serving: bool, limit: int = 3000
) -> None:
    _act(
        "4 · Live: a day of payments, and a cardholder who unblocks themselves",
        "The service starts on localhost (HTTP, ISO 8583, console), its profiles rebuilt from "
        "history, and answers the last day of the world as the card network sends it.",
    )
    day = held_out.column("timestamp")[0].as_py().replace(hour=0, minute=0, second=0)
    clock = SimulatedClock(day + timedelta(days=1))
    with console.status("starting the service: loading the model, rebuilding profiles"):
        http_port, iso_port = free_port(), free_port()
        running = build(ws, base_url=f"http://127.0.0.1:{http_port}", clock=clock)
    honest = {
        r["txn_id"]: r["scenario"] == ""
        for r in held_out.select(["txn_id", "scenario"]).to_pylist()
    }
    rows = held_out.to_pylist()
    # One line per notice would drown the story: the notices are shown below instead.
    logging.getLogger("cardwatch.notify").setLevel(logging.WARNING)
    with _Server(running, http_port, iso_port) as server:
        started = time.perf_counter()
        answers = asyncio.run(_replay_day(iso_port, rows, limit))
        took = time.perf_counter() - started
        codes: dict[str, int] = {}
        for _, _, answer in answers:
            codes[answer["39"]] = codes.get(answer["39"], 0) + 1
        console.print(
            f"{len(answers):,} payments answered over ISO 8583 in {took:.1f} s; "
            "response codes: " + ", ".join(f"{c}: {n:,}" for c, n in sorted(codes.items()))
        )
        stopped = [
            (row, a)
            for row, _, a in answers
            if a["39"] in ("05", "59") and honest.get(row["txn_id"])
        ]
        if not stopped:
            console.print("no honest payment was stopped today: nobody to notify")
        else:
            _self_unblock(running, server, iso_port, stopped[0][0])
        if keep_serving:
            users = "\n".join(
                f"         user [bold]{n}[/], password [bold]{p}[/]"
                for n, p in _supervisors(running)
            )
            console.print(
                Panel(
                    f"API      {server.http}/docs\nconsole  {server.http}/console\n{users}\n"
                    f"ISO 8583 127.0.0.1:{iso_port}\n\nIn the console: Breaches → the breach → "
                    "notify the exposed cardholders (the second user approves); the alert queue "
                    "holds the victims' cases first.\nCtrl-C stops the service.",
                    title="cardwatch is serving",
                    expand=False,
                )
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopping")


def _self_unblock(running: Running, server: _Server, iso_port: int, row: dict[str, Any]) -> None:
    store = running.services.store
    card = tokenise(synthetic_pan(row["card_id"]), running.services.pan_key)
    notice = next((m for m in store.outbox_messages(card_id=card) if _same(m.payload, row)), None)
    if notice is None:
        console.print("[yellow]the stopped payment has no notice in the outbox")
        return
    console.print(
        Panel(
            notice.payload["text"],
            title=f"notice to the cardholder: {notice.payload['subject']}",
            expand=False,
        )
    )
    links = notice.payload["links"]
    url = links.get("it_was_me") if isinstance(links, dict) else None
    if url is None:
        console.print("[yellow]this notice carries no 'it was me' link")
        return
    started = time.perf_counter()
    clicked = httpx.post(url, timeout=10)
    answer = asyncio.run(_retry(iso_port, row, running.services.service.clock()))
    took = time.perf_counter() - started
    t = Table(title="the cardholder taps “it was me”, then pays again")
    t.add_column("")
    t.add_column("", justify="right")
    t.add_row("link answered", f"HTTP {clicked.status_code}")
    t.add_row(
        "retried payment", f"DE 39 {answer['39']}" + (" (approved)" if answer["39"] == "00" else "")
    )
    t.add_row("from the tap to the approved retry", f"{took * 1000:.0f} ms")
    console.print(t)


def _same(payload: dict[str, Any], row: dict[str, Any]) -> bool:
    return (
        payload.get("merchant_id") == row["merchant_id"]
        and abs(float(payload.get("amount", -1)) - float(row["amount"])) < 0.005
    )
