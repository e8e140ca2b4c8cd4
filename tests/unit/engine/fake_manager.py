"""What the job engine's tests share: a manager on the fake driver with fast jobs and no
sync loop of its own (tests sweep by hand), a fake host with partitions, and waiting for
a job to end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from kanri.domain.jobs import Job
from kanri.domain.model import Bmc
from kanri.domain.states import PowerState, SystemKind
from kanri.drivers.fake import FakeBmc, world_of
from kanri.engine.jobs import JobOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.sync import SyncOptions
from kanri.settings import Settings
from tests.waiting import wait_for

FAST = JobOptions(lease=2.0, heartbeat=0.05, lock_wait=30, lock_poll=0.02, settle_poll=0.01)


def fast_manager(
    data_dir: Path, jobs: JobOptions = FAST, workers: int = 8, sync: SyncOptions | None = None
) -> Manager:
    """A manager on ``data_dir`` (its own SQLite file) that does not run the sync loop."""
    settings = Settings(data_dir, f"sqlite:///{data_dir / 'kanri.db'}")
    options = ManagerOptions(workers=workers, run_sync=False, jobs=jobs, sync=sync or SyncOptions())
    return Manager(settings, options)


def add_host_with_partitions(manager: Manager, bmc: Bmc) -> FakeBmc:
    """A fake BMC with three systems, all on: "1" a host, "2" and "3" its partitions."""
    fake = world_of(manager.drivers.context).add_bmc(bmc.url, systems=3)
    for sid in ("2", "3"):
        system = fake.systems[sid]
        system.inventory = replace(system.inventory, kind=SystemKind.PARTITION, host_system_id="1")
    for system in fake.systems.values():
        system.power = PowerState.ON
    return fake


def manager_of_a_host_with_partitions(
    data_dir: Path, bmc: Bmc, sync: SyncOptions | None = None
) -> Manager:
    """A fast manager whose machine "rack" is ``bmc`` as ``add_host_with_partitions``
    makes it: rack-1 the host, rack-2 and rack-3 its partitions, all on."""
    manager = fast_manager(data_dir, sync=sync)
    add_host_with_partitions(manager, bmc)
    manager.machines.add("rack", bmc, driver="fake")
    return manager


@contextmanager
def stopped_after(manager: Manager) -> Iterator[Manager]:
    """``manager`` for the block, stopped when it ends."""
    try:
        yield manager
    finally:
        manager.stop()


def ended(manager: Manager, job_id: int, timeout: float = 10) -> Job:
    """The job once it has ended, however it ended."""
    wait_for(lambda: manager.jobs.get(job_id).state.ended, timeout)
    return manager.jobs.get(job_id)
