"""Versioned rule sets in the workspace: ``rules/v0001.toml``, ``v0002.toml``…

Saving never overwrites: every change is a new file, so what decided a payment last Tuesday can
always be read back. The highest version is in force unless ``rules/CURRENT`` names another
(a rollback that does not delete the newer version). A workspace with no version uses the
shipped default set. This module is the rules' I/O adapter; the rest of the package is pure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cardwatch.errors import NotFoundError
from cardwatch.rules.check import Known
from cardwatch.rules.errors import RuleDefinitionError
from cardwatch.rules.evaluate import compile_ruleset
from cardwatch.rules.ruleset import RuleSet
from cardwatch.rules.toml_io import default_ruleset, dumps_ruleset, load_ruleset
from cardwatch.rules.vocabulary import KNOWN_ATTRIBUTES
from cardwatch.workspace import Workspace

__all__ = ["RuleStore"]

_VERSION_FILE = re.compile(r"^v(\d{4,})\.toml$")
_POINTER = "CURRENT"


class RuleStore:
    """The rule sets of one workspace. ``known`` is the attribute vocabulary a set must use to
    be saved (default: :data:`cardwatch.rules.vocabulary.KNOWN_ATTRIBUTES`)."""

    def __init__(self, ws: Workspace, known: Known = KNOWN_ATTRIBUTES) -> None:
        self.ws = ws
        self.known = known

    @property
    def dir(self) -> Path:
        return self.ws.rules_dir

    def _path(self, version: int) -> Path:
        return self.dir / f"v{version:04d}.toml"

    def versions(self) -> list[int]:
        """Stored versions, oldest first."""
        if not self.dir.exists():
            return []
        found = (_VERSION_FILE.match(p.name) for p in self.dir.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def pinned(self) -> int | None:
        """The version ``CURRENT`` names, if any."""
        pointer = self.dir / _POINTER
        if not pointer.exists():
            return None
        text = pointer.read_text(encoding="utf-8").strip()
        if not text.isdigit():
            raise RuleDefinitionError(f"{pointer} should hold a version number, not {text!r}")
        return int(text)

    def current_version(self) -> int | None:
        """The version in force: the pinned one, else the highest; ``None`` means the default."""
        pinned = self.pinned()
        if pinned is not None:
            return pinned
        versions = self.versions()
        return versions[-1] if versions else None

    def current(self) -> RuleSet:
        """The rule set in force (the shipped default when the workspace has none)."""
        version = self.current_version()
        return default_ruleset() if version is None else self.get(version)

    def get(self, version: int) -> RuleSet:
        """One stored version; its ``version`` field is the file's number."""
        path = self._path(version)
        if not path.exists():
            raise NotFoundError(f"rule set version {version} is not in {self.dir}")
        try:
            loaded = load_ruleset(path)
        except RuleDefinitionError as e:
            raise RuleDefinitionError(f"{path}: {e}") from None
        return RuleSet(loaded.rules, loaded.lists, loaded.description, version)

    def save(self, ruleset: RuleSet, *, allow_empty: bool = False) -> int:
        """Check ``ruleset`` against the known attributes and store it as a new version.

        A set with no live rule is refused unless ``allow_empty``: the new version goes into
        force at once, and an empty file (or one whose rules are all in shadow) would silently
        stop every rule that protects the cardholders today.

        Returns the new version number. Never overwrites: a concurrent save that took the
        number first makes this one take the next.
        """
        compile_ruleset(ruleset, self.known)
        if not allow_empty and not any(r.live for r in ruleset.rules):
            what = (
                f"all {len(ruleset.rules)} of its rules are shadow" if ruleset.rules else "no rules"
            )
            raise RuleDefinitionError(
                f"the rule set has {what}: in force it would decide nothing and stop every rule"
                " in force now; save it with --allow-empty if that is what you mean"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        version = (self.versions() or [0])[-1] + 1
        while True:
            text = dumps_ruleset(ruleset, version)
            try:
                with self._path(version).open("x", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
            except FileExistsError:
                version += 1
                continue
            return version

    def pin(self, version: int | None) -> None:
        """Put ``version`` in force (``None``: follow the highest version again)."""
        pointer = self.dir / _POINTER
        if version is None:
            pointer.unlink(missing_ok=True)
            return
        if version not in self.versions():
            raise NotFoundError(f"rule set version {version} is not in {self.dir}")
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(f"{version}\n", encoding="utf-8")
        tmp.replace(pointer)
