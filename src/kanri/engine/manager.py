"""One manager: the store, the drivers, the worker pool, the services and the sync loop."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kanri.domain.errors import KanriError
from kanri.drivers.base import DriverOptions
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.engine.delivery import DeliveryOptions
from kanri.engine.delivery_setup import build_delivery
from kanri.engine.events import EventService
from kanri.engine.groups import GroupService
from kanri.engine.intake import Intake, IntakeOptions
from kanri.engine.job_setup import build_job_service, register_layouts
from kanri.engine.jobs import JobOptions
from kanri.engine.layouts import LayoutService
from kanri.engine.locks import TargetLocks
from kanri.engine.machines import MachineService
from kanri.engine.monitor import Monitor, MonitorOptions
from kanri.engine.partitions import PartitionService
from kanri.engine.power import PowerService
from kanri.engine.reactions import Reactions
from kanri.engine.rules import RuleService
from kanri.engine.runstates import RunStateService
from kanri.engine.scheduler import Scheduler, SchedulerOptions, clock_from_env
from kanri.engine.schedules import ScheduleService
from kanri.engine.servers import ServerService
from kanri.engine.storage import StorageService
from kanri.engine.sync import PowerSync, SyncOptions
from kanri.engine.tokens import ensure_admin_token
from kanri.settings import Settings
from kanri.store import migrate
from kanri.store.db import Database
from kanri.store.jobs_repo import JobRepository
from kanri.store.layouts_repo import LayoutRepository
from kanri.store.monitor_repo import MonitorRepository
from kanri.store.partitions_repo import PartitionsRepository
from kanri.store.repo import Repository
from kanri.store.rules_repo import RulesRepository
from kanri.store.runstates_repo import RunStatesRepository
from kanri.store.schedules_repo import SchedulesRepository
from kanri.store.secrets import Secrets
from kanri.store.servers_repo import ServersRepository
from kanri.store.storage_repo import StorageRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ManagerOptions:
    workers: int = 32  # the sync loop's driver calls in flight at once, over all BMCs
    operator_workers: int = 8  # operators' calls (API): never queued behind a sweep
    sync: SyncOptions = field(default_factory=SyncOptions)
    drivers: DriverOptions = field(default_factory=DriverOptions)
    run_sync: bool = True
    jobs: JobOptions = field(default_factory=JobOptions)
    schedules: SchedulerOptions = field(default_factory=SchedulerOptions)
    run_scheduler: bool = True
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    run_delivery: bool = True  # carry out rules' actions (docs/notifications.md)
    monitor: MonitorOptions = field(default_factory=MonitorOptions)
    intake: IntakeOptions = field(default_factory=IntakeOptions)
    run_monitor: bool = True  # poll health and SEL, take pushed events (docs/monitoring.md)


class Manager:
    def __init__(self, settings: Settings, options: ManagerOptions | None = None) -> None:
        self.settings = settings
        self.options = options or ManagerOptions()
        with _starting(f"the data directory {settings.data_dir}"):
            settings.ensure_data_dir()
        with _starting(f"the database {_shown(settings.database_url)}"):
            migrate.upgrade(settings.database_url)
            self.db = Database(settings.database_url)
            self.repo = Repository(self.db, Secrets(settings.key_file))
        self.drivers = Drivers(self.options.drivers)
        self.calls = DriverCalls(self.options.workers)
        # A sweep of thousands of reads must not delay an operator's command: their calls
        # run in a pool of their own. The per-BMC cap in the drivers still covers both.
        self.operator_calls = DriverCalls(self.options.operator_workers)
        locks = TargetLocks()
        self.machines = MachineService(self.repo, self.drivers, self.operator_calls, locks)
        self.power = PowerService(self.repo, self.drivers, self.operator_calls, locks)
        self.storage = StorageService(
            StorageRepository(self.db, self.repo.secrets),
            self.repo,
            self.drivers,
            self.operator_calls,
            locks,
        )
        # Durable jobs: their steps' driver calls in a pool of their own (docs/jobs.md).
        self.job_calls = DriverCalls(self.options.workers)
        self.jobs = build_job_service(
            JobRepository(self.db),
            self.repo,
            self.drivers,
            self.job_calls,
            locks,
            settings.data_dir,
            self.options.jobs,
        )
        self.power.job_holder = self.jobs.repo.holder
        # Partitions and modes (docs/partitions.md): direct calls under the targets' locks.
        self.partitions = PartitionService(
            self.repo,
            PartitionsRepository(self.db),
            self.drivers,
            self.operator_calls,
            locks,
            self.machines,
        )
        self.partitions.job_holder = self.jobs.repo.holder
        # Servers placed on machines and partitions (docs/partitions.md, "Servers").
        self.servers = ServerService(
            ServersRepository(self.db),
            self.repo,
            self.drivers,
            self.operator_calls,
            locks,
            self.jobs,
        )
        self.sync = PowerSync(self.repo, self.drivers, self.calls, self.options.sync)
        # Run-state keeping (docs/partitions.md "Run states"): told of each sweep's changes.
        self.runstates = RunStateService(self.repo, RunStatesRepository(self.db))
        self.runstates.submit = lambda targets, params: (
            self.jobs.submit("power", targets, params).id
        )
        self.runstates.job_holder = self.jobs.repo.holder
        self.sync.after_sweep = self.runstates.after_sweep
        # Groups and power schedules (docs/schedules.md): each due run becomes a power job.
        schedules_store = SchedulesRepository(self.db)
        self.groups = GroupService(schedules_store, self.repo)
        clock = clock_from_env()  # the system clock (tests may shift it: docs/schedules.md)
        self.schedules = ScheduleService(schedules_store, self.groups, self.repo, clock)
        self.scheduler = Scheduler(self.schedules, self.jobs, self.options.schedules, clock)
        # Rules and maintenance (docs/rules.md): which rules fire for a change to an event.
        self.rules = RuleService(
            RulesRepository(self.db), self.repo, self.groups, lambda: getattr(self, "events", None)
        )
        # Fault events (docs/events.md): observations grow, clear or open stored events.
        self.events = EventService(self.repo.events, self.repo)
        # Rules' actions, carried out durably: event change -> rules -> deliveries.
        self.delivery = build_delivery(
            self.db, self.drivers, self.jobs, self.rules.store, self.groups, self.options.delivery
        )
        self.reactions = Reactions(self.events, self.rules, self.delivery)
        self.sync.observe = self.events.observe
        # Monitoring (docs/monitoring.md): its polls have a pool of their own, like the sync.
        self.monitor_calls = DriverCalls(self.options.monitor.workers)
        monitor_store = MonitorRepository(self.db)
        self.monitor = Monitor(
            self.repo,
            monitor_store,
            self.drivers,
            self.monitor_calls,
            self.events,
            self.options.monitor,
        )
        self.intake = Intake(
            self.repo, monitor_store, self.drivers, self.events, self.monitor, self.options.intake
        )
        # Layouts (docs/partitions.md "Layouts"): a version recorded on every change; the
        # other issue-5 services (partitions, servers, runstates, jobs) looked up by name.
        self.layouts = LayoutService(
            LayoutRepository(self.db),
            self.repo,
            self.drivers,
            self.operator_calls,
            lambda name: getattr(self, name, None),
        )
        register_layouts(self.jobs, self.layouts)
        if (partitions := getattr(self, "partitions", None)) is not None:
            partitions.listen(self.layouts.on_change)
        self.servers.listen(self.layouts.on_change)  # placements are part of a layout
        with _starting(f"the token file {settings.token_file}"):
            self.admin_token = ensure_admin_token(self.repo, settings.token_file)

    def start(self) -> None:
        if self.options.run_sync:
            self.sync.start()
        self.jobs.start()
        if self.options.run_scheduler:
            self.scheduler.start()
        self.reactions.start()
        if self.options.run_delivery:
            self.delivery.start()
        if self.options.run_monitor:
            self.monitor.start()
            self.intake.start()
        log.info("manager started on %s", self.db.engine.url.render_as_string(hide_password=True))

    def stop(self) -> None:
        self.intake.stop()
        self.monitor.stop()
        self.events.stop()  # ends the live event streams
        self.sync.stop()
        self.scheduler.stop()
        self.reactions.stop()
        self.delivery.stop()
        self.jobs.stop()
        self.job_calls.shutdown()
        self.monitor_calls.shutdown()
        self.calls.shutdown()
        self.operator_calls.shutdown()
        self.drivers.close()  # logs out of every BMC session
        self.db.dispose()
        log.info("manager stopped")


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


@contextmanager
def _starting(what: str) -> Iterator[None]:
    """Turn what goes wrong at start into one line that says where to look."""
    try:
        yield
    except KanriError:
        raise
    except ArgumentError as exc:
        raise KanriError(f"cannot use {what}: not a database URL ({exc})") from None
    except ModuleNotFoundError as exc:
        raise KanriError(
            f"cannot use {what}: the driver module {exc.name!r} is missing "
            "(for PostgreSQL: pip install 'kanri[postgres]')"
        ) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise KanriError(f"cannot use {what}: {reason}") from None
    except OSError as exc:
        raise KanriError(f"cannot use {what}: {exc.strerror or exc}") from None
