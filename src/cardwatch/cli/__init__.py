"""``cardwatch``: one command with a verb per job. Each verb lives in a module of this package
named for what it does; importing the module registers the verb on ``app``."""

from __future__ import annotations

from cardwatch.cli.app import app

# Verb modules register themselves on import; keep one line per module, sorted.
from cardwatch.cli import breach as _breach  # noqa: F401  isort: skip
from cardwatch.cli import demo as _demo  # noqa: F401  isort: skip
from cardwatch.cli import importing as _importing  # noqa: F401  isort: skip
from cardwatch.cli import model as _model  # noqa: F401  isort: skip
from cardwatch.cli import rules as _rules  # noqa: F401  isort: skip
from cardwatch.cli import serve as _serve  # noqa: F401  isort: skip
from cardwatch.cli import simulate as _simulate  # noqa: F401  isort: skip
from cardwatch.cli import users as _users  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    app()
