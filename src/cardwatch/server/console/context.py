"""The console's shared state: one ``Console`` per mounted console, reached by every handler
through a dependency, so handlers never import globals and tests can build as many as they like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from cardwatch.server.console.sessions import SessionSigner
from cardwatch.store.base import Store
from cardwatch.store.records import AuditEntry
from cardwatch.workspace import Workspace

__all__ = ["Console", "utc_now"]

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Console:
    """Workspace, store, clock, session signer and templates of one console."""

    ws: Workspace
    store: Store
    signer: SessionSigner
    templates: Jinja2Templates
    clock: Callable[[], datetime] = utc_now
    secure_cookies: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

    def audit(self, who: str, action: str, target: str, /, **details: Any) -> AuditEntry:
        """Append one line to the audit trail (PCI DSS 10.2): who did what to what, when."""
        return self.store.append_audit(
            AuditEntry(who=who, action=action, target=target, at=self.now(), details=details)
        )
