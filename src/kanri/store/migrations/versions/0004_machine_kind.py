"""machines.kind and machines.host_system_id: partitions are told from machines.

A BMC that exposes partitions (SystemType VirtuallyPartitioned) lists them beside the
machines; kanri keeps which is which and, for a partition, the system id of its host.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="machine"))
        batch.add_column(sa.Column("host_system_id", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.drop_column("host_system_id")
        batch.drop_column("kind")
