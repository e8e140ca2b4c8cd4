"""Wiring of the job service for one Manager: who it is, what it runs, with what."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from kanri.drivers.registry import Drivers
from kanri.engine import layout_job, mode_job, power_job
from kanri.engine.calls import DriverCalls
from kanri.engine.jobs import JobOptions, JobService
from kanri.engine.layouts import LayoutService
from kanri.engine.locks import TargetLocks
from kanri.engine.power import PowerService
from kanri.store.jobs_repo import JobRepository
from kanri.store.repo import Repository

ID_FILE = "manager.id"


def data_dir_id(data_dir: Path) -> str:
    """This data directory's lasting id (made at first start, kept in ``manager.id``)."""
    path = data_dir / ID_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        made = uuid.uuid4().hex[:12]
        path.write_text(made + "\n", encoding="utf-8")
        path.chmod(0o600)
        return made


def build_job_service(
    jobs: JobRepository,
    repo: Repository,
    drivers: Drivers,
    calls: DriverCalls,
    locks: TargetLocks,
    data_dir: Path,
    options: JobOptions,
) -> JobService:
    """The service with every job kind kanri ships registered.

    The owner is ``DATADIR-ID:RUN-ID``: a new run on the same data directory knows that
    the jobs of every earlier run (same prefix) are orphans — one manager per data
    directory — and resumes them at once, without waiting for their leases to expire.
    """
    prefix = f"{data_dir_id(data_dir)}:"
    owner = prefix + uuid.uuid4().hex[:12]
    # Steps use a PowerService of their own, on the jobs' driver pool, with the same
    # in-process locks as operators' commands.
    power = PowerService(repo, drivers, calls, locks)
    power.job_holder = jobs.holder
    options = replace(options, per_bmc=drivers.context.options.per_bmc_concurrency)
    service = JobService(jobs, repo, power, owner, prefix, options)
    power_job.register(service)
    mode_job.register(service)
    return service


def register_layouts(service: JobService, layouts: LayoutService) -> None:
    """The ``layout.apply`` kind (engine/layout_job.py): it needs the layouts service,
    which the manager builds after the job service."""
    layout_job.register(service, layouts)
