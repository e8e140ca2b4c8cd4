"""Wiring of the delivery service for one Manager: its actions, who it is, what it may
suppress (docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from kanri.domain.groups import Group
from kanri.drivers.registry import Drivers
from kanri.engine.actions import ActionContext, ActionRegistry, JobSubmitter
from kanri.engine.delivery import DeliveryOptions, DeliveryService, system_clock
from kanri.engine.reactions import MaintenanceSource, maintenance_check
from kanri.settings import smtp_server
from kanri.store.db import Database
from kanri.store.deliveries_repo import DeliveryRepository


class Groups(Protocol):
    def groups(self) -> list[Group]: ...


class JobOwner(JobSubmitter, Protocol):
    owner: str
    predecessor_prefix: str | None


def build_delivery(
    db: Database,
    drivers: Drivers,
    jobs: JobOwner,
    maintenance: MaintenanceSource,
    groups: Groups,
    options: DeliveryOptions,
    clock: Callable[[], datetime] = system_clock,
) -> DeliveryService:
    """The service with every action kind registered. It holds deliveries under the job
    service's owner id, so a new run on the same data directory takes over at once what
    the previous run left mid-attempt. The SMTP settings are read (and checked) here."""
    server = smtp_server()
    actions = ActionRegistry(ActionContext(drivers, lambda: server, jobs))

    def groups_of(target: str | None) -> set[str]:
        return {g.name for g in groups.groups() if target in g.members} if target else set()

    return DeliveryService(
        DeliveryRepository(db),
        actions,
        jobs.owner,
        jobs.predecessor_prefix,
        options,
        clock,
        suppressed=maintenance_check(maintenance, groups_of, clock),
    )
