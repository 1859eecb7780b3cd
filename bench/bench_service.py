"""The real authorisation service under load on this machine: authorisations/s over HTTP and over
ISO 8583 with p50/p99 latency, and the time from an "it was me" tap to the approved retry.

A workspace is built once (and reused): a simulated issuer (``WorldConfig(seed, cards)``) whose
last ``--holdout-days`` are kept back, the rest imported with card numbers from
``synthetic_pan`` (tokenised on import), and a model trained at the cut. The service is what
``cardwatch serve`` runs (``build`` + ``serve_all``: uvicorn, the ISO 8583 listener, the outbox
worker) in a child process on 127.0.0.1, with a fresh operational database (SQLite WAL,
``synchronous=FULL``) and its clock at the end of the held-out days. The held-out payments are
then sent in time order, each once, by a load generator in this process: N connections, each
with one request in flight (closed loop), for each concurrency level in ``--levels``; a run stops
after ``--requests`` answers or ``--seconds``. Latency is measured by the client, from writing a
request to reading its answer (client encoding outside, decoding inside).

Then ``--unblocks`` payments stopped during the ISO runs are taken one by one as a cardholder
would: the "it was me" link of the notice is POSTed, the same payment is sent again over ISO
8583, and the time until its 0110 with DE 39 ``00`` is measured.

    .venv/bin/python bench/bench_service.py --levels 1,4,16,64 --requests 5000 --seconds 6

The first run builds the workspace (about half a minute); ``--py-spy FILE`` profiles the server
(the thread holding the GIL) during the highest level, with the ``py-spy`` that ``make install``
(or ``make bench-deps``) puts in the virtualenv. The service's event loop is uvloop and
uvicorn's HTTP parser httptools, as in ``cardwatch serve``; ``--asyncio`` runs the service on
the standard library's event loop instead, for comparison. CPU per authorisation is the
service process's user + system time over the run divided by its answers: on a shared machine it
says more than the rate does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import multiprocessing as mp
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import iso8583

from cardwatch.server.iso.acquirer import payment_of
from cardwatch.server.local import SimulatedClock, free_port

HOST = "127.0.0.1"  # never anything else: this is a local benchmark
_READY = "bench-ready.json"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "cw-bench-service")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--holdout-days", type=int, default=20)
    p.add_argument("--trees", type=int, default=150, help="boosting rounds (the demo's)")
    p.add_argument("--protocols", default="http,iso")
    p.add_argument("--levels", default="1,4,16,64", help="connections, one request in flight each")
    p.add_argument("--requests", type=int, default=10_000, help="answers measured per run")
    p.add_argument("--seconds", type=float, default=10.0, help="at most this long per run")
    p.add_argument("--warmup", type=int, default=300, help="answers not counted, per run")
    p.add_argument("--unblocks", type=int, default=50)
    p.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="profile the server under the highest level (py-spy, GIL holder only, collapsed)",
    )
    p.add_argument(
        "--asyncio",
        action="store_true",
        help="run the service on asyncio's own event loop ('cardwatch serve' runs uvloop)",
    )
    p.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after the service is built (not what 'cardwatch serve' does today)",
    )
    p.add_argument("--keep-db", action="store_true", help="keep the decisions of earlier runs")
    return p.parse_args(argv)


# -- the workspace -------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> Path:
    """Simulate, import all but the held-out days, train at the cut (once per home)."""
    from cardwatch.workspace import Workspace

    home = args.home
    ready = home / _READY
    if ready.exists():
        meta = json.loads(ready.read_text())
        if meta == {"seed": args.seed, "cards": args.cards, "holdout_days": args.holdout_days}:
            return home
        shutil.rmtree(home)
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from cardwatch.cli.demo import synthetic_pan
    from cardwatch.importer import import_cards, import_file
    from cardwatch.runtime import train_model
    from cardwatch.store.history import History
    from cardwatch.world import WorldConfig, simulate

    started = time.perf_counter()
    ws = Workspace.open(home)
    world = simulate(WorldConfig(seed=args.seed, cards=args.cards))
    txns = world.transactions
    ts = txns.column("timestamp")
    last = pc.max(ts).as_py().replace(hour=0, minute=0, second=0, microsecond=0)
    cut = last - timedelta(days=args.holdout_days - 1)
    before = pc.less(ts, pa.scalar(cut, ts.type))

    def with_pans(table: pa.Table) -> pa.Table:
        ids = table.column("card_id").to_pylist()
        i = table.column_names.index("card_id")
        return table.set_column(i, "card_id", pa.array([synthetic_pan(c) for c in ids]))

    export = Path(tempfile.mkdtemp(prefix="cw-bench-export-"))
    try:
        pq.write_table(with_pans(txns.filter(before)), export / "transactions.parquet")
        cards = world.cards.select(
            ["card_id", "customer_id", "home_country", "home_lat", "home_lon"]
        )
        pq.write_table(with_pans(cards), export / "cards.parquet")
        history = History(ws)
        import_cards(history, export / "cards.parquet", ws.pan_key())
        imported = import_file(history, export / "transactions.parquet", ws.pan_key()).imported
    finally:
        shutil.rmtree(export, ignore_errors=True)
    held = txns.filter(pc.invert(before))
    pq.write_table(held, home / "bench-holdout.parquet")
    trained = train_model(ws, None, cut, cut, datetime.now(UTC), n_estimators=args.trees)
    ready.write_text(
        json.dumps({"seed": args.seed, "cards": args.cards, "holdout_days": args.holdout_days})
    )
    print(
        f"workspace {home}: {imported:,} transactions imported, {held.num_rows:,} held out "
        f"from {cut:%Y-%m-%d}; model {trained.version} "
        f"(AUC {trained.metrics['auc']:.3f}); {time.perf_counter() - started:.0f} s"
    )
    return home


# -- the service (child process) -----------------------------------------------------------------


def serve(
    pipe: Connection,
    home: str,
    start: datetime,
    real: float,
    keep_db: bool,
    plain_asyncio: bool,
    gc_freeze: bool = False,
) -> None:
    """Child process: ``build`` + ``serve_all`` until the parent says stop."""
    import logging

    from cardwatch.cli.serve import serve_all
    from cardwatch.server.assembly import build
    from cardwatch.workspace import Workspace

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("cardwatch.notify").setLevel(logging.WARNING)
    ws = Workspace.open(home)
    if not keep_db:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (ws.home / f"cardwatch.db{suffix}").unlink()
    http_port, iso_port = free_port(HOST), free_port(HOST)
    clock = SimulatedClock(start, real)
    running = build(ws, base_url=f"http://{HOST}:{http_port}", clock=clock)
    if gc_freeze:  # what was built stays: no full collection walks it again
        import gc

        gc.collect()
        gc.freeze()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(serve_all(running, HOST, http_port, iso_port, stop, clock))
        await asyncio.sleep(0.5)
        pipe.send({"http": http_port, "iso": iso_port, "pid": os.getpid()})
        await loop.run_in_executor(None, pipe.recv)
        stop.set()
        await task

    if plain_asyncio:
        asyncio.run(main())
    else:
        import uvloop

        uvloop.run(main())


# -- load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    """One bounded run: the payments to send, what came back."""

    items: list[Any]
    warmup: int
    deadline: float
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    started: float | None = None
    ended: float = 0.0
    next: int = 0
    stopped: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def take(self) -> Any | None:
        if self.next >= len(self.items) or time.monotonic() >= self.deadline:
            return None
        self.next += 1
        return self.items[self.next - 1]

    def record(self, latency: float, code: str) -> None:
        self.answered += 1
        if self.answered == self.warmup:
            self.started = time.perf_counter()
        elif self.answered > self.warmup:
            self.latencies.append(latency)
            self.codes[code] += 1
            self.ended = time.perf_counter()


def http_request(row: dict[str, Any], tag: str) -> bytes:
    from cardwatch.cli.demo import synthetic_pan

    body = payment_of(row) | {
        "pan": synthetic_pan(row["card_id"]),
        "txn_id": f"{row['txn_id']}{tag}",
    }
    body["timestamp"] = body["timestamp"].isoformat()
    data = json.dumps(body).encode()
    head = (
        f"POST /v1/authorizations HTTP/1.1\r\nHost: {HOST}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def http_lane(port: int, run: Run) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while (item := run.take()) is not None:
            _, raw = item
            t0 = time.perf_counter()
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                run.errors[type(exc).__name__] += 1
                return
            latency = time.perf_counter() - t0
            status = head[9:12].decode()
            code = json.loads(body).get("response_code", status) if status == "200" else status
            run.record(latency, code)
    finally:
        writer.close()


async def iso_lane(port: int, run: Run, first_stan: int) -> None:
    from cardwatch.server.iso import IsoClient

    async with IsoClient(HOST, port, timeout_s=10.0, first_stan=first_stan) as client:
        while (item := run.take()) is not None:
            row, raw, stan = item
            t0 = time.perf_counter()
            try:
                answer = await client.request_raw(raw, stan)
            except (TimeoutError, ConnectionError) as exc:
                run.errors[type(exc).__name__] += 1
                continue
            code = answer.get("39", "??")
            run.record(time.perf_counter() - t0, code)
            if code in ("05", "59"):
                run.stopped.append((row, stan))


class Pool:
    """The held-out payments in time order, each sent once over the whole bench."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.at = 0
        self.stan = 0

    def take(self, n: int) -> list[dict[str, Any]]:
        got = self.rows[self.at : self.at + n]
        self.at += len(got)
        return got

    def iso_items(self, rows: list[dict[str, Any]], lanes: int) -> list[Any]:
        from cardwatch.cli.demo import synthetic_pan
        from cardwatch.server.iso.acquirer import authorisation_fields
        from cardwatch.server.iso.codec import SPEC

        items = []
        for row in rows:
            self.stan += 1
            stan = f"{(self.stan - 1) % 999_999 + 1:06d}"
            fields = authorisation_fields(
                row, synthetic_pan(row["card_id"]), stan=stan, rrn=f"9{self.stan:011d}"
            )
            raw, _ = iso8583.encode(fields, SPEC)
            items.append((row, bytes(raw), stan))
        return items


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_run(protocol: str, ports: dict[str, int], pool: Pool, conns: int, args: Any) -> Run:
    rows = pool.take(args.requests + args.warmup)
    if protocol == "http":
        items: list[Any] = [(r, http_request(r, "")) for r in rows]
    else:
        items = pool.iso_items(rows, conns)
    run = Run(items, min(args.warmup, len(items) // 10), time.monotonic() + args.seconds)

    async def go() -> None:
        if protocol == "http":
            lanes = [http_lane(ports["http"], run) for _ in range(conns)]
        else:
            lanes = [iso_lane(ports["iso"], run, 1) for _ in range(conns)]
        await asyncio.gather(*lanes)

    server, client = cpu_seconds(ports["pid"]), time.process_time()
    asyncio.run(go())
    run.server_cpu = cpu_seconds(ports["pid"]) - server
    run.client_cpu = time.process_time() - client
    return run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(protocol: str, conns: int, run: Run) -> str:
    n = len(run.latencies)
    elapsed = run.ended - (run.started or run.ended)
    rate = n / elapsed if elapsed > 0 else float("nan")
    lat = run.latencies
    return (
        f"{protocol:5} {conns:4d} conns  {n:6d} answers in {elapsed:5.2f} s  "
        f"{rate:7,.0f}/s  p50 {percentile(lat, 0.5) * 1e3:6.2f} ms  "
        f"p99 {percentile(lat, 0.99) * 1e3:6.2f} ms  max {max(lat, default=0) * 1e3:7.2f} ms  "
        f"CPU/auth server {run.server_cpu / max(run.answered, 1) * 1e6:4.0f} us "
        f"client {run.client_cpu / max(run.answered, 1) * 1e6:4.0f} us  "
        f"codes {dict(sorted(run.codes.items()))}"
        + (f"  errors {dict(run.errors)}" if run.errors else "")
    )


# -- "it was me" ---------------------------------------------------------------------------------


def unblocks(
    home: Path,
    ports: dict[str, int],
    stopped: list[tuple[dict[str, Any], str]],
    clock: SimulatedClock,
    honest: dict[str, bool],
    n: int,
) -> tuple[list[float], Counter[str], int]:
    """Tap "it was me", pay again over ISO 8583, until the 0110 with 00; one after another."""
    import httpx

    from cardwatch.cli.demo import synthetic_pan
    from cardwatch.pan import tokenise
    from cardwatch.server.iso import IsoClient
    from cardwatch.store.sql import SqlStore
    from cardwatch.workspace import Workspace

    ws = Workspace.open(home)
    store = SqlStore.open(ws.database_url, migrate=False)
    key = ws.pan_key()
    chosen = [s for s in stopped if honest.get(s[0]["txn_id"])]
    chosen += [s for s in stopped if not honest.get(s[0]["txn_id"])]
    times: list[float] = []
    outcomes: Counter[str] = Counter()
    seen: set[str] = set()
    skipped = 0
    phases: list[tuple[float, float]] = []

    async def retry(client: IsoClient, row: dict[str, Any]) -> str:
        txn = payment_of(row) | {"timestamp": clock()}
        _, answer = await client.authorise(txn, synthetic_pan(row["card_id"]))
        return answer.get("39", "??")

    async def go() -> None:
        nonlocal skipped
        async with IsoClient(HOST, ports["iso"], timeout_s=10, first_stan=990_000) as client:
            for i, (row, _) in enumerate(chosen):
                if len(times) >= n:
                    break
                if row["card_id"] in seen:
                    continue
                seen.add(row["card_id"])
                card = tokenise(synthetic_pan(row["card_id"]), key)
                url = None
                for m in store.outbox_messages(card_id=card, limit=1000):
                    links = m.payload.get("links") or {}
                    if (
                        m.payload.get("merchant_id") == row["merchant_id"]
                        and abs(float(m.payload.get("amount", -1)) - float(row["amount"])) < 0.005
                        and isinstance(links, dict)
                        and "it_was_me" in links
                    ):
                        url = links["it_was_me"]
                if url is None:
                    skipped += 1
                    continue
                # Each cardholder taps from a phone of their own: another loopback source
                # address each (the link endpoint limits taps per client address).
                source = f"127.0.{1 + i // 250}.{2 + i % 250}"
                # The client is made before the clock starts (httpx builds a TLS context even
                # for plain HTTP); the tap itself opens a new connection.
                transport = httpx.AsyncHTTPTransport(local_address=source)
                async with httpx.AsyncClient(timeout=10, transport=transport) as web:
                    t0 = time.perf_counter()
                    clicked = await web.post(url)
                    t1 = time.perf_counter()
                    code = await retry(client, row) if clicked.status_code == 200 else "link"
                    took = time.perf_counter() - t0
                outcomes[code] += 1
                if code == "00":
                    times.append(took)
                    phases.append((t1 - t0, took - (t1 - t0)))

    try:
        asyncio.run(go())
    finally:
        store.close()
    if phases:
        link, pay = zip(*phases, strict=True)
        print(
            f"  of which the tap (POST) median {statistics.median(link) * 1e3:.1f} ms, max "
            f"{max(link) * 1e3:.1f} ms; the retried payment median "
            f"{statistics.median(pay) * 1e3:.1f} ms, max {max(pay) * 1e3:.1f} ms; "
            f"slowest {', '.join(f'{x * 1e3:.0f}' for x in sorted(times)[-3:])} ms"
        )
    return times, outcomes, skipped


# -- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    import pyarrow.parquet as pq

    spy_tool = Path(sys.executable).with_name("py-spy")
    if args.py_spy is not None and not spy_tool.exists():
        print(f"--py-spy needs {spy_tool}: run `make bench-deps`", file=sys.stderr)
        return 2
    home = prepare(args)
    held = pq.read_table(home / "bench-holdout.parquet").sort_by("timestamp")
    rows = held.to_pylist()
    honest = {r["txn_id"]: r["scenario"] == "" for r in rows}
    end = rows[-1]["timestamp"].replace(hour=0, minute=0, second=0, microsecond=0)
    clock = SimulatedClock(end + timedelta(days=1), time.monotonic())
    levels = [int(x) for x in args.levels.split(",") if x]
    protocols = [p for p in args.protocols.split(",") if p]

    parent, child_end = mp.Pipe()
    ctx = mp.get_context("spawn")
    child = ctx.Process(
        target=serve,
        args=(
            child_end,
            str(home),
            clock.start,
            clock.real,
            args.keep_db,
            args.asyncio,
            args.gc_freeze,
        ),
    )
    started = time.perf_counter()
    child.start()
    if not parent.poll(600):
        child.kill()
        print("the service did not start", file=sys.stderr)
        return 1
    ports = parent.recv()
    startup = time.perf_counter() - started
    lines: list[str] = []
    stopped: list[tuple[dict[str, Any], str]] = []
    pool = Pool(rows)
    try:
        for protocol in protocols:
            for conns in levels:
                spy = None
                if args.py_spy is not None and conns == max(levels):
                    out = args.py_spy.with_name(f"{args.py_spy.stem}-{protocol}.txt")
                    out.parent.mkdir(parents=True, exist_ok=True)
                    spy = subprocess.Popen(
                        [
                            str(spy_tool),
                            "record",
                            "--pid",
                            str(ports["pid"]),
                            "--duration",
                            str(int(args.seconds)),
                            "--format",
                            "raw",
                            "--rate",
                            "200",
                            "--nonblocking",
                            "--gil",
                            "-o",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                run = load_run(protocol, ports, pool, conns, args)
                if spy is not None:
                    spy.wait(timeout=args.seconds + 30)
                stopped += run.stopped
                line = report(protocol, conns, run)
                lines.append(line)
                print(line, flush=True)
        times, outcomes, skipped = unblocks(home, ports, stopped, clock, honest, args.unblocks)
    finally:
        parent.send("stop")
        child.join(30)
        if child.is_alive():
            child.kill()

    print()
    print(
        "command: .venv/bin/python "
        + shlex.join(["bench/bench_service.py", *(argv or sys.argv[1:])])
    )
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; python {sys.version.split()[0]}; "
        f"cpus {os.cpu_count()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    extras = [m for m in ("httptools", "uvloop") if importlib.util.find_spec(m)]
    loop = ("asyncio" if args.asyncio else "uvloop") + (", gc.freeze()" if args.gc_freeze else "")
    print(
        f"service: build + serve_all in a child process (uvicorn, ISO 8583 listener, outbox "
        f"worker), SQLite WAL synchronous=FULL; event loop {loop}, installed: "
        f"{', '.join(extras) or 'no httptools/uvloop'}; started in {startup:.1f} s; world seed "
        f"{args.seed}, {args.cards:,} cards, {len(rows):,} held-out payments "
        f"({pool.at:,} sent)"
    )
    print("closed loop, one request in flight per connection; client latency write → answer")
    for line in lines:
        print(line)
    if times:
        print(
            f"'it was me' tap → approved retry over ISO 8583 ({len(times)} payments, idle "
            f"service): median {statistics.median(times) * 1e3:.1f} ms, p99 "
            f"{percentile(times, 0.99) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms; "
            f"outcomes {dict(outcomes)}; stopped payments without a link {skipped}"
        )
    else:
        print(f"'it was me': no approved retry; outcomes {dict(outcomes)}; skipped {skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
