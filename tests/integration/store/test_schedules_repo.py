"""Groups, calendars, schedules and run claims on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.domain.calendars import make_calendar
from kanri.domain.errors import Conflict, NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.schedules import RunStatus, Schedule, parse_rule
from kanri.domain.states import PowerAction
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.schedules_repo import SchedulesRepository

NOW = datetime(2026, 1, 5, 6, tzinfo=UTC)


@pytest.fixture
def store(db: Database, repo: Repository) -> SchedulesRepository:
    found = {n: SystemInventory(system_id=n) for n in ("m1", "m2")}
    repo.add_machines(Bmc("https://10.0.0.5", "admin", "pw"), "fake", found)
    return SchedulesRepository(db)


def test_groups_members_follow_machines(store: SchedulesRepository, repo: Repository) -> None:
    store.add_group("g", ["m2", "m1"])
    with pytest.raises(NotFound, match="no machine named zz"):
        store.add_group("h", ["m1", "zz"])
    assert [g.name for g in store.groups()] == ["g"]
    repo.rename_machine("m1", "m9")
    assert store.get_group("g").members == ("m2", "m9")
    repo.remove_machine("m2")
    assert store.get_group("g").members == ("m9",)
    store.remove_group("g")
    assert store.groups() == []


def test_schedules_and_their_runs_are_claimed_once(store: SchedulesRepository) -> None:
    store.add_calendar(make_calendar("hols", ["2026-12-25"]))
    s = Schedule("s", PowerAction.ON, "m1", parse_rule("cron 0 7 * * *"), "Europe/Paris",
                 calendar="hols")  # fmt: skip
    stored = store.add_schedule(s, NOW)
    assert stored.schedule == s
    assert store.get_schedule("s").created_at == NOW
    with pytest.raises(Conflict, match="already exists"):
        store.add_schedule(s, NOW)
    with pytest.raises(Conflict, match="used by schedule"):
        store.remove_calendar("hols")
    due = datetime(2026, 1, 5, 6, tzinfo=UTC)
    assert store.last_due(stored.id) is None
    run = store.claim_run(stored.id, due, RunStatus.CLAIMED, "a")
    assert run is not None
    assert store.claim_run(stored.id, due, RunStatus.CLAIMED, "b") is None
    store.finish_run(run, RunStatus.SUBMITTED, job_id="7")
    assert store.last_due(stored.id) == due
    [seen] = store.runs("s")
    assert (seen.status, seen.job_id, seen.claimed_by) == (RunStatus.SUBMITTED, "7", "a")
    store.remove_schedule("s")
    assert store.runs() == []
