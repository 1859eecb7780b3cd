"""Bad input on the command line: a one-line error naming the option or the thing, a non-zero
exit, never a traceback, and never an empty answer that passes for a clean bill."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import Result
from typer.testing import CliRunner

from cardwatch.cli import app
from cardwatch.world import WorldConfig, simulate

runner = CliRunner()


def _text(result: Result) -> str:
    """The output as one line: Rich wraps messages at the terminal width and boxes usage errors."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def _refused(result: Result, code: int = 1) -> str:
    """Assert a clean refusal (the exit status, no traceback) and return the message."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return _text(result)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A workspace with a small imported history and no model (shared: the tests only read)."""
    tmp = tmp_path_factory.mktemp("world")
    world = simulate(WorldConfig(seed=3, cards=300).resized(days=30))
    pq.write_table(world.transactions, tmp / "t.parquet")
    pq.write_table(world.cards, tmp / "c.parquet")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARDWATCH_PAN_KEY", "test-pan-key")
        mp.setenv("CARDWATCH_SECRET_KEY", "test-secret-key")
        mp.delenv("CARDWATCH_DATABASE_URL", raising=False)
        args = ["--home", str(tmp / "ws")]
        done = runner.invoke(
            app, ["import", str(tmp / "t.parquet"), "--cards", str(tmp / "c.parquet"), *args]
        )
        assert done.exit_code == 0, done.output
        yield args


def test_an_unknown_suspect_names_the_ones_there_are(home: list[str]) -> None:
    for verb in ("exposure", "respond"):
        said = _refused(runner.invoke(app, ["breach", verb, "chain:Nowhere", *home]))
        assert "'chain:Nowhere'" in said and "suspects then:" in said
        # As of the end of history (its last day), as `breach detect` defaults to; not today.
        assert "as of 2025-11-11" in said, said
    said = _refused(runner.invoke(app, ["breach", "respond", "chain:Nowhere", *home]))
    assert "breaches stored: none" in said


@pytest.mark.parametrize("verb", [["detect"], ["exposure", "x"], ["respond", "x"]])
def test_breach_as_of_must_be_iso_8601(home: list[str], verb: list[str]) -> None:
    said = _refused(runner.invoke(app, ["breach", *verb, "--as-of", "notadate", *home]), 2)
    assert "--as-of" in said and "'notadate' is not an ISO 8601" in said


def test_train_names_a_window_without_payments(home: list[str]) -> None:
    said = _refused(runner.invoke(app, ["train", "--as-of", "2020-01-01", *home]))
    assert "no payment in the training window [start of history, 2020-01-01)" in said
    assert "the history runs from" in said
    said = _refused(runner.invoke(app, ["train", "--from", "2030-01-01", *home]))
    assert "[2030-01-01," in said


@pytest.mark.parametrize("verb", ["train", "replay"])
def test_from_after_to_is_refused(home: list[str], tmp_path: Path, verb: str) -> None:
    window = ["--from", "2025-12-01", "--to", "2025-11-01", "--out", str(tmp_path / "d.csv")]
    said = _refused(runner.invoke(app, [verb, *window[: 6 if verb == "replay" else 4], *home]), 2)
    assert "--from is after --to" in said
    assert not (tmp_path / "d.csv").exists()


def test_replay_without_a_model_refuses_unless_rules_only(home: list[str], tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    said = _refused(runner.invoke(app, ["replay", "--out", str(out), *home]))
    assert "no model" in said and "cardwatch train" in said and "--rules-only" in said
    assert not out.exists()
    ruled = runner.invoke(
        app, ["replay", "--rules-only", "--from", "2025-11-05", "--out", str(out), *home]
    )
    assert ruled.exit_code == 0, ruled.output
    assert out.exists() and "with model none" in _text(ruled)


def test_an_empty_workspace_is_a_setup_mistake(tmp_path: Path) -> None:
    ws = tmp_path / "nothing"
    for args in (["breach", "detect"], ["breach", "exposure", "x"], ["train"]):
        said = _refused(runner.invoke(app, [*args, "--home", str(ws)]))
        assert f"no history in {ws}" in said and "cardwatch import" in said
    assert not ws.exists()  # a mistyped --home leaves nothing behind


def test_simulate_into_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.touch()
    said = _refused(
        runner.invoke(app, ["simulate", "--out", str(afile), "--cards", "50", "--days", "7"]), 2
    )
    assert "--out" in said and "is a file" in said
    said = _refused(
        runner.invoke(
            app, ["simulate", "--out", str(afile / "sub"), "--cards", "50", "--days", "7"]
        )
    )
    assert f"cannot write the world into {afile / 'sub'}" in said


def test_users_add_without_a_terminal_points_to_password_stdin(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["users", "add", "alice", "--role", "supervisor", "--home", str(tmp_path / "ws")]
    )
    said = _refused(result)
    assert "--password-stdin" in said and "Aborted" not in said


@pytest.mark.parametrize(
    "args",
    [
        ["breach", "detect", "--out"],
        ["breach", "exposure", "chain:Nowhere", "--out"],
        ["breach", "respond", "chain:Nowhere", "--reissue-out"],
        ["replay", "--rules-only", "--out"],
    ],
)
def test_an_output_file_in_a_missing_directory_is_refused_first(
    home: list[str], tmp_path: Path, args: list[str]
) -> None:
    """Before any work: a breach response is stored before its plan is written, and a replay
    takes minutes, so a typo in the path must not end them in a traceback."""
    said = _refused(runner.invoke(app, [*args, str(tmp_path / "no" / "x.csv"), *home]), 2)
    assert "does not exist" in said


def test_serve_refuses_a_detection_cadence_that_does_not_divide_the_day(home) -> None:
    """Runs every 7 hours would drift around the clock: refused before anything is loaded."""
    message = _refused(runner.invoke(app, ["serve", "--detect-every", "7", *home]))
    assert "--detect-every must divide 24" in message and "7" in message
