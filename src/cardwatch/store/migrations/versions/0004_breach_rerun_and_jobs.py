"""Re-responding to a breach and the daily detection job.

Why: a breach is responded to again as its window widens, and the cards found later must be told
too, while those already told must not be told twice — so each exposure remembers when its
holder was notified (``notified_at``) and which later analysis found it (``added_at``; replay
flags a card only from then). ``job_runs`` keeps each scheduled run's as-of time, so that a
restarted ``cardwatch serve`` does not repeat a day's detection. Exposures of breaches already
marked ``notified`` (before this migration, notices went to every card at once) count as
notified when the breach was detected.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("exposures") as batch:
        batch.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("added_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE exposures SET notified_at = (SELECT b.detected_at FROM breaches b"
        " WHERE b.breach_id = exposures.breach_id)"
        " WHERE breach_id IN (SELECT breach_id FROM breaches WHERE status = 'notified')"
    )
    op.create_table(
        "job_runs",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_as_of", "job_runs", ["job", "as_of"])


def downgrade() -> None:
    op.drop_index("ix_job_runs_job_as_of", "job_runs")
    op.drop_table("job_runs")
    with op.batch_alter_table("exposures") as batch:
        batch.drop_column("added_at")
        batch.drop_column("notified_at")
