"""The model core reads no clock and opens no file: only registry.py does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import cardwatch.model

FORBIDDEN_MODULES = {"os", "pathlib", "time", "socket", "tempfile", "shutil", "io"}
FORBIDDEN_CALLS = {"open", "now", "utcnow", "today", "time", "perf_counter"}


def test_only_the_registry_does_io() -> None:
    package = Path(cardwatch.model.__file__).parent
    offenders = []
    for path in sorted(package.glob("*.py")):
        if path.name == "registry.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                names = {name} & FORBIDDEN_CALLS
                if names:
                    offenders.append(f"{path.name}:{node.lineno} calls {name}")
                continue
            else:
                continue
            if names & FORBIDDEN_MODULES:
                offenders.append(f"{path.name}:{node.lineno} imports {names}")
    assert offenders == []
