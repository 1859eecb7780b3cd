"""``cardwatch demo --no-serve`` tells the whole story on a small world, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "CARDWATCH_PAN_KEY": "k", "CARDWATCH_SECRET_KEY": "s", "COLUMNS": "120"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cardwatch",
            "demo",
            "--home",
            str(tmp_path / "ws"),
            "--cards",
            "2000",
            "--trees",
            "60",
            "--no-serve",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    for expected in (
        "1 · A simulated issuer",
        "fraud amount stopped",
        "3 · Finding the breach",
        "response to",
        "payments answered over ISO 8583",
        "demo finished",
    ):
        assert expected in out, f"{expected!r} missing from the demo's output"
    assert "999000" not in out.replace("999000******", "")  # card numbers only ever masked
