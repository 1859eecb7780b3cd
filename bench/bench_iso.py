"""Load the ISO 8583 listener over TCP on this machine and report authorisations/s and latency.

The listener runs in a child process (so that client and server do not share one event loop)
with a trivial in-memory handler, or, with ``--port``, an already running listener on
127.0.0.1 is loaded instead (``cardwatch serve`` with the real engine). N connections each keep
``--pipeline`` requests in flight; the run stops after ``--requests`` answers or ``--seconds``,
whichever comes first. Latency is measured by the client, from writing a request to reading its
answer, so it includes the client's own encoding and decoding.

    .venv/bin/python bench/bench_iso.py --connections 8 --pipeline 16 --requests 20000
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from cardwatch.server.iso import IsoClient, IsoListener, MemoryHandler, StandInPolicy

HOST = "127.0.0.1"  # never anything else: this is a local benchmark
KEY = b"bench-pan-key"
PANS = ("4111111111111111", "5555555555554444", "4012888888881881", "5105105105105100")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--pipeline", type=int, default=16, help="requests in flight per connection")
    p.add_argument("--requests", type=int, default=20_000, help="stop after this many answers")
    p.add_argument("--seconds", type=float, default=20.0, help="stop after this long at most")
    p.add_argument("--warmup", type=int, default=500, help="answers not counted, first")
    p.add_argument("--timeout", type=float, default=1.5, help="the listener's answer timeout")
    p.add_argument("--port", type=int, default=0, help="load a listener already on this port")
    return p.parse_args(argv)


def serve(pipe: Connection, timeout_s: float) -> None:
    """Child process: a listener with an in-memory handler until the parent says stop."""

    async def main() -> None:
        handler = MemoryHandler(limit=1000.0, record=False)
        policy = StandInPolicy(floor=50.0)
        async with IsoListener(handler, KEY, HOST, 0, timeout_s, policy) as listener:
            pipe.send(listener.port)
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
            pipe.send(listener.counters.as_dict())

    asyncio.run(main())


def transaction(i: int) -> dict[str, Any]:
    return {
        "amount": round(5 + (i * 37) % 1500 + 0.99, 2),
        "currency": "EUR",
        "merchant_id": f"M{i % 5000:06d}",
        "merchant_name": "Bench Store",
        "merchant_country": "FR",
        "mcc": "5411",
        "terminal_id": f"T{i % 997:05d}",
        "entry_mode": ("chip", "contactless", "ecommerce")[i % 3],
    }


class Run:
    """Shared state of the load: the request budget, the deadline, what was measured."""

    def __init__(self, total: int, warmup: int, seconds: float) -> None:
        self.left = total + warmup
        self.warmup = warmup
        self.deadline = time.monotonic() + seconds
        self.latencies: list[float] = []
        self.codes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.started: float | None = None
        self.answered = 0

    def take(self) -> int | None:
        if self.left <= 0 or time.monotonic() >= self.deadline:
            return None
        self.left -= 1
        return self.left

    def record(self, latency: float, code: str) -> None:
        self.answered += 1
        if self.answered == self.warmup:
            self.started = time.perf_counter()
        if self.answered > self.warmup:
            self.latencies.append(latency)
            self.codes[code] += 1


async def lane(client: IsoClient, run: Run) -> None:
    while (i := run.take()) is not None:
        txn = transaction(i)
        t0 = time.perf_counter()
        try:
            _, answer = await client.authorise(txn, PANS[i % len(PANS)])
        except (TimeoutError, ConnectionError) as exc:
            run.errors[type(exc).__name__] += 1
            continue
        run.record(time.perf_counter() - t0, answer.get("39", "??"))


async def load(port: int, args: argparse.Namespace) -> tuple[Run, float]:
    run = Run(args.requests, args.warmup, args.seconds)
    clients = [
        await IsoClient(HOST, port, timeout_s=10.0, first_stan=1 + c * 100_000).connect()
        for c in range(args.connections)
    ]
    try:
        lanes = [lane(c, run) for c in clients for _ in range(args.pipeline)]
        await asyncio.gather(*lanes)
        ended = time.perf_counter()
    finally:
        for c in clients:
            await c.close()
    elapsed = ended - (run.started or ended)
    return run, elapsed


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    child = None
    if args.port:
        port = args.port
    else:
        parent, child_end = mp.Pipe()
        child = mp.get_context("spawn").Process(target=serve, args=(child_end, args.timeout))
        child.start()
        if not parent.poll(30):
            child.kill()
            print("the listener did not start", file=sys.stderr)
            return 1
        port = parent.recv()
    try:
        run, elapsed = asyncio.run(load(port, args))
    finally:
        server: dict[str, int] = {}
        if child is not None:
            parent.send("stop")
            if parent.poll(10):
                server = parent.recv()
            child.join(10)
            if child.is_alive():
                child.kill()
    n = len(run.latencies)
    rate = n / elapsed if elapsed > 0 else float("nan")
    print(
        "command: .venv/bin/python " + shlex.join(["bench/bench_iso.py", *(argv or sys.argv[1:])])
    )
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; python {sys.version.split()[0]}")
    print(
        f"listener: {'in-memory handler, child process' if child else f'127.0.0.1:{port}'}; "
        f"connections {args.connections} x pipeline {args.pipeline}"
    )
    print(f"answers measured: {n} in {elapsed:.2f} s (after {args.warmup} warm-up)")
    print(f"authorisations/s: {rate:,.0f}")
    print(
        f"latency ms: p50 {percentile(run.latencies, 0.50) * 1e3:.2f}  "
        f"p99 {percentile(run.latencies, 0.99) * 1e3:.2f}  "
        f"max {max(run.latencies, default=float('nan')) * 1e3:.2f}  "
        f"mean {statistics.fmean(run.latencies) * 1e3 if n else float('nan'):.2f}"
    )
    print(f"response codes: {dict(run.codes)}; client errors: {dict(run.errors)}")
    if server:
        keys = ("frames_received", "handler_answers", "stand_in_timeout", "stand_in_error")
        print("listener counters: " + ", ".join(f"{k} {server[k]}" for k in keys))
    return 0 if n and not run.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
