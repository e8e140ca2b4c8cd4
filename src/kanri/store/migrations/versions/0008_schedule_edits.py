"""schedules.runs_from and schedule_lock: schedules that are disabled, enabled and edited.

``runs_from`` is when a schedule was made, last enabled or last given new times: runs due
before it are never fired, so enabling a schedule does not replay the runs it missed while
disabled. ``schedule_lock`` is one row that every schedule write updates first, so that
checking a schedule against the others and storing it are one serialised step.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("runs_from", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE schedules SET runs_from = created_at")
    with op.batch_alter_table("schedules") as batch:
        batch.alter_column("runs_from", existing_type=sa.DateTime(timezone=True), nullable=False)
    lock = op.create_table(
        "schedule_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_lock")),
    )
    op.bulk_insert(lock, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("schedule_lock")
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("runs_from")
