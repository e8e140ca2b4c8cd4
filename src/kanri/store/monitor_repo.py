"""The monitor's memory in the store: what it last knew of each machine, and its event
subscription on each BMC. A restarted manager (or another one on the same database) takes
up where the last poll left off: no old SEL line raised twice, no change missed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kanri.domain.monitoring import MonitorMemory
from kanri.domain.states import Health
from kanri.store.db import Database
from kanri.store.tables import BmcRow, MachineRow, MonitorStateRow, SubscriptionRow


@dataclass(frozen=True, slots=True)
class Subscription:
    bmc_url: str
    mode: str  # push, stream, none
    uri: str | None
    secret: str
    last_event_id: str | None


def _health(value: str) -> Health:
    try:
        return Health(value)
    except ValueError:
        return Health.UNKNOWN


class MonitorRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def memories(self) -> dict[str, MonitorMemory]:
        """Every machine's memory by machine name (machines never polled are absent)."""
        with self.db.session() as session:
            rows = session.execute(
                select(MachineRow.name, MonitorStateRow).join(
                    MonitorStateRow, MonitorStateRow.machine_id == MachineRow.id
                )
            ).all()
            return {
                name: MonitorMemory(
                    rollup=_health(row.rollup),
                    components={k: _health(v) for k, v in (row.components or {}).items()},
                    sel_cursor=row.sel_cursor,
                    known=True,
                )
                for name, row in rows
            }

    def save(self, machine: str, memory: MonitorMemory) -> None:
        """Keep ``memory`` for ``machine``; a machine removed meanwhile is let go."""
        with self.db.session() as session:
            machine_id = session.scalar(select(MachineRow.id).where(MachineRow.name == machine))
            if machine_id is None:
                return
            row = session.scalar(
                select(MonitorStateRow).where(MonitorStateRow.machine_id == machine_id)
            )
            if row is None:
                row = MonitorStateRow(machine_id=machine_id)
                session.add(row)
            row.rollup = str(memory.rollup)
            row.components = {k: str(v) for k, v in memory.components.items()}
            row.sel_cursor = memory.sel_cursor

    # subscriptions ------------------------------------------------------------------------

    def subscriptions(self) -> dict[str, Subscription]:
        with self.db.session() as session:
            rows = session.execute(
                select(BmcRow.url, SubscriptionRow).join(
                    SubscriptionRow, SubscriptionRow.bmc_id == BmcRow.id
                )
            ).all()
            return {url: _subscription(url, row) for url, row in rows}

    def save_subscription(self, sub: Subscription) -> None:
        with self.db.session() as session:
            bmc_id = session.scalar(select(BmcRow.id).where(BmcRow.url == sub.bmc_url))
            if bmc_id is None:
                return
            row = session.scalar(select(SubscriptionRow).where(SubscriptionRow.bmc_id == bmc_id))
            if row is None:
                row = SubscriptionRow(bmc_id=bmc_id)
                session.add(row)
            row.mode = sub.mode
            row.subscription_uri = sub.uri
            row.secret = sub.secret
            row.last_event_id = sub.last_event_id


def _subscription(url: str, row: SubscriptionRow) -> Subscription:
    return Subscription(
        bmc_url=url,
        mode=row.mode,
        uri=row.subscription_uri,
        secret=row.secret,
        last_event_id=row.last_event_id,
    )
