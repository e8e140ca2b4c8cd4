"""Remove and rename against job locks and schedules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.domain.errors import Conflict
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.schedules import Schedule, parse_rule
from kanri.domain.states import PowerAction
from kanri.store.db import Database
from kanri.store.jobs_repo import JobRepository
from kanri.store.repo import Repository
from kanri.store.schedules_repo import SchedulesRepository


def test_locks_and_schedules_guard_a_machine(db: Database, repo: Repository) -> None:
    found = {n: SystemInventory(system_id=n) for n in ("m1", "m2", "m3")}
    repo.add_machines(Bmc("https://10.0.0.5", "admin", "pw"), "fake", found)
    jobs, schedules = JobRepository(db), SchedulesRepository(db)
    jobs.acquire(["m1"], 5, "owner", lease=60)
    jobs.acquire(["m3"], 6, "gone", lease=-1)  # expired: holds nothing
    with pytest.raises(Conflict, match=r"held by job 5"):
        repo.remove_machine("m1")
    with pytest.raises(Conflict, match=r"held by job 5"):
        repo.rename_machine("m1", "x1")
    schedules.add_group("g", ["m2", "m3"])
    rule = parse_rule("cron 0 7 * * *")
    schedules.add_schedule(Schedule("s", PowerAction.ON, "g", rule, "UTC"), datetime.now(UTC))
    with pytest.raises(Conflict, match=r"m3 is used by schedule\(s\) s \(through group g\)"):
        repo.remove_machine("m3")
    repo.rename_machine("m3", "x3")
    jobs.release(5)
    repo.remove_machine("m1")
    assert [m.name for m in repo.list_machines()] == ["m2", "x3"]
