"""Partitions, layouts, servers and run-state snapshots (issue 5); machines.mode.

A partition keeps its spec and run state beside its machine row; a layout is versioned on
every change; a server is placed on a machine or a partition; a host's failure freezes its
partitions' run states in a snapshot.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "layouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("host_machine_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_machine_id"],
            ["machines.id"],
            name=op.f("fk_layouts_host_machine_id_machines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layouts")),
        sa.UniqueConstraint("name", name=op.f("uq_layouts_name")),
    )
    with op.batch_alter_table("layouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_layouts_host_machine_id"), ["host_machine_id"], unique=False
        )

    op.create_table(
        "partitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("host_machine_id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("run_state", sa.String(length=32), nullable=False),
        sa.Column("run_state_cause", sa.String(length=32), nullable=False),
        sa.Column("run_state_by", sa.String(length=63), nullable=False),
        sa.Column("run_state_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_machine_id"],
            ["machines.id"],
            name=op.f("fk_partitions_host_machine_id_machines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["machines.id"],
            name=op.f("fk_partitions_machine_id_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partitions")),
        sa.UniqueConstraint("machine_id", name=op.f("uq_partitions_machine_id")),
    )
    with op.batch_alter_table("partitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partitions_host_machine_id"), ["host_machine_id"], unique=False
        )

    op.create_table(
        "run_state_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_machine_id", sa.Integer(), nullable=True),
        sa.Column("host_name", sa.String(length=63), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_run_state_snapshots_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["host_machine_id"],
            ["machines.id"],
            name=op.f("fk_run_state_snapshots_host_machine_id_machines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_state_snapshots")),
    )
    with op.batch_alter_table("run_state_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_run_state_snapshots_host_machine_id"), ["host_machine_id"], unique=False
        )

    op.create_table(
        "servers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("boot_volume", sa.String(length=255), nullable=True),
        sa.Column("cores", sa.Integer(), nullable=True),
        sa.Column("memory_gib", sa.Integer(), nullable=True),
        sa.Column("desired_power", sa.String(length=16), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["machines.id"],
            name=op.f("fk_servers_machine_id_machines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servers")),
        sa.UniqueConstraint("machine_id", name=op.f("uq_servers_machine_id")),
        sa.UniqueConstraint("name", name=op.f("uq_servers_name")),
    )
    op.create_table(
        "layout_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layout_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["layout_id"],
            ["layouts.id"],
            name=op.f("fk_layout_versions_layout_id_layouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_versions")),
        sa.UniqueConstraint("layout_id", "version", name="uq_layout_versions"),
    )
    with op.batch_alter_table("layout_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_layout_versions_layout_id"), ["layout_id"], unique=False
        )

    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_mode", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_column("pending_mode")
        batch_op.drop_column("mode")

    with op.batch_alter_table("layout_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_layout_versions_layout_id"))

    op.drop_table("layout_versions")
    op.drop_table("servers")
    with op.batch_alter_table("run_state_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_state_snapshots_host_machine_id"))

    op.drop_table("run_state_snapshots")
    with op.batch_alter_table("partitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partitions_host_machine_id"))

    op.drop_table("partitions")
    with op.batch_alter_table("layouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_layouts_host_machine_id"))

    op.drop_table("layouts")
