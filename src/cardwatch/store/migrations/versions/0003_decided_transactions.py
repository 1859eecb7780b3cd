"""Keep the whole (tokenised) transaction beside each decision.

Why: after a crash the engine's profiles are rebuilt from history, and the payments decided live
since the last history import are history too. Rebuilding them exactly needs every field the
profiles read (category, country, location, channel, entry mode), not only the amount and the
merchant. No PAN, track or CVV data is among them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = (
    ("mcc", sa.String(4)),
    ("merchant_country", sa.String(2)),
    ("merchant_lat", sa.Float()),
    ("merchant_lon", sa.Float()),
    ("terminal_id", sa.String(128)),
    ("channel", sa.String(32)),
    ("entry_mode", sa.String(32)),
)


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_index("ix_decisions_timestamp", "decisions", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_decisions_timestamp", "decisions")
    with op.batch_alter_table("decisions") as batch:
        for name, _ in _COLUMNS:
            batch.drop_column(name)
