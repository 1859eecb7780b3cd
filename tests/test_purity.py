"""The core stays pure: it reads no clock and opens no file, socket or server.

Walks the imports of every core module (STYLE.md, point 1) and fails when one of them imports an
I/O library or calls the clock. Adapters (cli, server, store, registries) are outside the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cardwatch"
CORE = [
    "schema.py",
    "pan.py",
    "errors.py",
    "validation.py",
    "engine.py",
    "profiles",
    "rules",
    "model",
    "breach",
    "world",
    "customer/controls.py",
]
#: Modules inside core packages that are adapters by design (they do the package's I/O).
ADAPTERS = {
    "world/plots.py",
    "model/registry.py",
    "rules/store.py",
    "breach/spark.py",
    "rules/default.py",
}
FORBIDDEN_IMPORTS = {
    "socket",
    "sqlite3",
    "sqlalchemy",
    "httpx",
    "requests",
    "fastapi",
    "uvicorn",
    "asyncio",
    "smtplib",
    "subprocess",
    "redis",
    "psycopg",
}
#: Pure modules outside the core packages that the core may use (plain records, no I/O).
PURE_ELSEWHERE = ("cardwatch.store.records",)
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("time", "time"),
    ("date", "today"),
    ("time", "monotonic"),
}


def core_files() -> list[Path]:
    files: list[Path] = []
    for name in CORE:
        path = SRC / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
    return [f for f in files if str(f.relative_to(SRC)) not in ADAPTERS]


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                root = (name or "").split(".")[0]
                assert root not in FORBIDDEN_IMPORTS, f"{path.name} imports {name}"
                assert (name or "") in PURE_ELSEWHERE or not (name or "").startswith(
                    ("cardwatch.cli", "cardwatch.server", "cardwatch.store")
                ), f"{path.name}: {name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name):
                assert (owner.id, node.func.attr) not in FORBIDDEN_CALLS, (
                    f"{path.name} reads the clock ({owner.id}.{node.func.attr})"
                )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path.name} opens a file"
