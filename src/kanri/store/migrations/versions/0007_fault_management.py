"""Fault management: events that grow and clear, rules, maintenance, deliveries, and the
monitor's memory (parts' health, SEL cursor, BMC subscriptions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("key", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("component", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="open"))
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="manager")
        )
        batch.add_column(sa.Column("last_at", _WHEN))
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("affected", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("diagnostics", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("acked_by", sa.String(63)))
        batch.add_column(sa.Column("acked_at", _WHEN))
        batch.add_column(sa.Column("cleared_at", _WHEN))
        batch.create_index(batch.f("ix_events_key"), ["key"], unique=False)
    # Rows written before this revision get empty values; new rows get theirs from kanri.
    op.execute("UPDATE events SET affected = '[]', diagnostics = '{}'")
    with op.batch_alter_table("events") as batch:
        batch.alter_column("key", server_default=None)
        batch.alter_column("component", server_default=None)
        batch.alter_column("affected", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("diagnostics", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("rate_count", sa.Integer()),
        sa.Column("rate_seconds", sa.Integer()),
        sa.Column("quiet_seconds", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_rules_name")),
    )
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(63), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", _WHEN),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance")),
        sa.UniqueConstraint("target", name=op.f("uq_maintenance_target")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("rule_name", sa.String(63), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _WHEN),
        sa.Column("holder", sa.String(128)),
        sa.Column("lease_until", _WHEN),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "event_id", "rule_name", "action_index", "trigger", name="uq_deliveries_trigger"
        ),
    )
    op.create_index(op.f("ix_deliveries_event_id"), "deliveries", ["event_id"], unique=False)
    op.create_index(op.f("ix_deliveries_state"), "deliveries", ["state"], unique=False)
    op.create_index(op.f("ix_deliveries_next_at"), "deliveries", ["next_at"], unique=False)
    op.create_table(
        "monitor_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("rollup", sa.String(16), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("sel_cursor", sa.String(64)),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["machines.id"],
            name=op.f("fk_monitor_state_machine_id_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_state")),
        sa.UniqueConstraint("machine_id", name=op.f("uq_monitor_state_machine_id")),
    )
    op.create_table(
        "bmc_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bmc_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("subscription_uri", sa.String(512)),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("last_event_id", sa.String(64)),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["bmc_id"],
            ["bmcs.id"],
            name=op.f("fk_bmc_subscriptions_bmc_id_bmcs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bmc_subscriptions")),
        sa.UniqueConstraint("bmc_id", name=op.f("uq_bmc_subscriptions_bmc_id")),
    )


def downgrade() -> None:
    op.drop_table("bmc_subscriptions")
    op.drop_table("monitor_state")
    op.drop_index(op.f("ix_deliveries_next_at"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_state"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_event_id"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("maintenance")
    op.drop_table("rules")
    with op.batch_alter_table("events") as batch:
        batch.drop_index(batch.f("ix_events_key"))
        for column in (
            "cleared_at",
            "acked_at",
            "acked_by",
            "diagnostics",
            "affected",
            "count",
            "last_at",
            "source",
            "state",
            "component",
            "key",
        ):
            batch.drop_column(column)
