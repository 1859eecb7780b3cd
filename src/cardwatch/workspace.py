"""The workspace: one directory holding a deployment's history, models, rules, database and keys.

Resolved from ``--home``, else ``$CARDWATCH_HOME``, else ``./.cardwatch``; created when missing.
Secrets come from the environment; a workspace that has none gets generated keys (with a warning)
so that a laptop trial works, while a real deployment sets ``CARDWATCH_PAN_KEY`` and
``CARDWATCH_SECRET_KEY``.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workspace:
    """Paths inside one workspace directory; creating it has no other effect."""

    home: Path

    @classmethod
    def open(cls, home: str | Path | None = None) -> Workspace:
        """The workspace at ``home``, ``$CARDWATCH_HOME`` or ``./.cardwatch``; made if missing."""
        chosen = home or os.environ.get("CARDWATCH_HOME") or ".cardwatch"
        ws = cls(Path(chosen).expanduser().resolve())
        for d in (ws.home, ws.history_dir, ws.models_dir, ws.rules_dir, ws.secrets_dir):
            d.mkdir(parents=True, exist_ok=True)
        return ws

    @property
    def history_dir(self) -> Path:
        """Parquet files of transactions (one per import or per day of live decisions)."""
        return self.home / "history"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def rules_dir(self) -> Path:
        return self.home / "rules"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def cards_path(self) -> Path:
        """The cards file (home country and location per card), if one was imported."""
        return self.home / "cards.parquet"

    @property
    def database_url(self) -> str:
        """``$CARDWATCH_DATABASE_URL`` (PostgreSQL) or the workspace's SQLite file."""
        return os.environ.get("CARDWATCH_DATABASE_URL") or f"sqlite:///{self.home / 'cardwatch.db'}"

    @property
    def has_store(self) -> bool:
        """Whether an operational store is there to read: PostgreSQL configured, or the SQLite
        file made by a service or a breach response (a workspace of imports only has none)."""
        return (
            bool(os.environ.get("CARDWATCH_DATABASE_URL")) or (self.home / "cardwatch.db").exists()
        )

    def pan_key(self) -> bytes:
        """Key for PAN tokenisation (HMAC-SHA256)."""
        return self._secret("CARDWATCH_PAN_KEY", "pan.key")

    def secret_key(self) -> bytes:
        """Key for signing cardholder links and sessions."""
        return self._secret("CARDWATCH_SECRET_KEY", "secret.key")

    def _secret(self, env: str, filename: str) -> bytes:
        from_env = os.environ.get(env)
        if from_env:
            return from_env.encode()
        path = self.secrets_dir / filename
        if not path.exists():
            log.warning("%s is not set: generated a key into %s (set it for production)", env, path)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
