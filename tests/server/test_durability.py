"""Nothing acknowledged is lost: SIGKILL the server under load, restart it, and find every
answered decision stored, every retry answered the same, and the profiles rebuilt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from cardwatch.engine import decision_id
from cardwatch.profiles import FEATURE_INDEX
from cardwatch.schema import Transaction
from cardwatch.server.assembly import build
from cardwatch.server.local import free_port
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

pytestmark = pytest.mark.slow


def _start(ws: Workspace, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CARDWATCH_PAN_KEY": "k", "CARDWATCH_SECRET_KEY": "s"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cardwatch",
            "serve",
            "--home",
            str(ws.home),
            "--http-port",
            str(port),
            "--no-iso",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


def test_sigkill_under_load_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDWATCH_PAN_KEY", "k")
    monkeypatch.setenv("CARDWATCH_SECRET_KEY", "s")
    ws = Workspace.open(tmp_path / "ws")
    port, log = free_port(), tmp_path / "serve.log"
    proc = _start(ws, port, log)
    answered: dict[str, dict] = {}
    lock, stop = threading.Lock(), threading.Event()

    def send(i: int) -> None:
        if stop.is_set():
            return
        body = {
            "card_id": f"card-{i % 5}",
            "amount": 10 + i % 50,
            "merchant_id": f"m{i % 7}",
            "txn_id": f"t{i:05d}",
            "timestamp": f"2026-03-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "merchant_country": "FR",
            "channel": "card_present",
            "entry_mode": "chip",
        }
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/v1/authorizations",
                json=body,
                headers={"Idempotency-Key": f"k{i}"},
                timeout=5,
            )
        except httpx.HTTPError:
            return  # no answer: nothing was promised
        if r.status_code == 200:
            with lock:
                answered[f"k{i}"] = r.json()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send, i) for i in range(3000)]
        while len(answered) < 200 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-load, no chance to flush anything
        proc.wait(10)
        stop.set()
        for f in futures:
            f.result()
    assert len(answered) >= 200

    store = SqlStore.open(ws.database_url)
    for body in answered.values():
        record = store.decision_record(body["decision_id"])
        assert record is not None, f"answered {body['txn_id']} but not stored"
        assert record.decision.action.value == body["action"]

    proc = _start(ws, port, log)
    try:
        for key, body in list(answered.items())[:50]:
            i = int(key[1:])
            retry = httpx.post(
                f"http://127.0.0.1:{port}/v1/authorizations",
                headers={"Idempotency-Key": key},
                json={
                    "card_id": f"card-{i % 5}",
                    "amount": 10 + i % 50,
                    "merchant_id": f"m{i % 7}",
                    "txn_id": f"t{i:05d}",
                },
                timeout=10,
            )
            assert retry.json() == body
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    # The profiles are rebuilt from what was stored: the next payment of a card counts every
    # earlier one of that card.
    running = build(ws)
    stored = store.decided_transactions()
    card0 = [t for t in stored if t.card_id == "card-0"]
    probe = Transaction(
        "probe",
        card0[-1].timestamp,
        "card-0",
        10.0,
        "m1",
        merchant_country="FR",
        channel="card_present",
        entry_mode="chip",
    )
    x = running.services.service.engine.evaluate(probe).features
    assert x[FEATURE_INDEX["card_txn_count_24h"]] == len(card0)
    assert all(store.decision_record(decision_id(t.txn_id)) for t in stored)
