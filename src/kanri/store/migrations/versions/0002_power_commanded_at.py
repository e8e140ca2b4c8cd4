"""machines.power_commanded_at: when kanri last sent a power command, in the database.

Kept in memory before, so a second manager on the same database took the first one's
command for drift, and a restarted manager forgot a command in flight.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.add_column(sa.Column("power_commanded_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.drop_column("power_commanded_at")
