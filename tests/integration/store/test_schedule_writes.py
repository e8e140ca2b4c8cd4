"""Schedule writes are serialised on SQLite and PostgreSQL: two conflicting schedules added
(or added and edited) at once are never both stored; edits, and claims of runs of disabled
or retimed schedules."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from kanri.domain.errors import Conflict, Invalid, KanriError, NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.schedule_book import (
    ScheduleBook,
    ScheduleChange,
    apply_change,
    check_schedule,
)
from kanri.domain.schedules import RunStatus, Schedule, StoredSchedule, parse_rule
from kanri.domain.states import PowerAction
from kanri.store import migrate
from kanri.store.db import Database, make_engine
from kanri.store.repo import Repository
from kanri.store.schedules_repo import SchedulesRepository

NOW = datetime(2026, 1, 5, 6, tzinfo=UTC)  # a Monday, 06:00 UTC
# How long a check waits for the other writers to reach their own check. With the lock they
# never can (they wait for it), so the first writer waits this long once; without it they
# all get there at once, all see no conflict, and all would be stored.
MEET = 1.0


@pytest.fixture
def store(db: Database, repo: Repository) -> SchedulesRepository:
    found = {n: SystemInventory(system_id=n) for n in ("m1", "m2")}
    repo.add_machines(Bmc("https://10.0.0.5", "admin", "pw"), "fake", found)
    return SchedulesRepository(db)


def _sched(name: str, action: PowerAction, rule: str, target: str = "m1") -> Schedule:
    return Schedule(name, action, target, parse_rule(rule), "UTC")


def _race(jobs: list[Callable[[], object]]) -> list[object]:
    """Run ``jobs`` on threads started together; each one's result or exception."""
    start = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        start.wait(timeout=30)
        try:
            results[i] = jobs[i]()
        except KanriError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def _meeting(parties: int) -> Callable[[], None]:
    meet = threading.Barrier(parties)

    def wait() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=MEET)

    return wait


def _adder(
    store: SchedulesRepository, schedule: Schedule, meet: Callable[[], None]
) -> Callable[[], object]:
    def check(book: ScheduleBook) -> None:
        meet()
        check_schedule(schedule, book, NOW)

    return lambda: store.add_schedule(schedule, NOW, check)


def test_concurrent_conflicting_adds_store_one(store: SchedulesRepository) -> None:
    # Every pair of these conflicts: five actions, one machine, the same minute.
    actions = list(PowerAction)
    meet = _meeting(len(actions))
    schedules = [_sched(f"s-{a.value.replace('_', '-')}", a, "cron 0 7 * * *") for a in actions]
    results = _race([_adder(store, s, meet) for s in schedules])

    stored = store.schedules()
    assert len(stored) == 1, results
    winner = stored[0].schedule.name
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == len(actions) - 1, results
    assert all(f"schedule {winner} does" in str(r) for r in refused)


def test_concurrent_add_and_edit_store_one(store: SchedulesRepository) -> None:
    store.add_schedule(_sched("early", PowerAction.ON, "cron 0 5 * * *"), NOW)
    meet = _meeting(2)

    def retime(current: StoredSchedule, book: ScheduleBook) -> Schedule:
        changed = apply_change(current.schedule, ScheduleChange(cron="0 7 * * *"))
        meet()
        check_schedule(changed, book, NOW, own_id=current.id)
        return changed

    results = _race(
        [
            _adder(store, _sched("late", PowerAction.OFF, "cron 0 7 * * *"), meet),
            lambda: store.change_schedule("early", retime, NOW),
        ]
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    rules = {s.schedule.name: str(s.schedule.rule) for s in store.schedules()}
    assert rules in ({"early": "cron 0 5 * * *", "late": "cron 0 7 * * *"},
                     {"early": "cron 0 7 * * *"})  # fmt: skip


def _change(change: ScheduleChange, now: datetime = NOW) -> Callable[..., Schedule]:
    def decide(current: StoredSchedule, book: ScheduleBook) -> Schedule:
        changed = apply_change(current.schedule, change)
        check_schedule(changed, book, now, own_id=current.id)
        return changed

    return decide


def test_a_refused_edit_changes_nothing(store: SchedulesRepository) -> None:
    added = store.add_schedule(_sched("s", PowerAction.ON, "weekly mon 07:00"), NOW)
    store.add_schedule(_sched("t", PowerAction.OFF, "cron 0 9 * * *"), NOW)
    later = NOW + timedelta(hours=1)
    with pytest.raises(Invalid, match="unknown time zone"):
        store.change_schedule("s", _change(ScheduleChange(zone="Mars/Base")), later)
    with pytest.raises(NotFound, match="no machine or group named ghost"):
        store.change_schedule("s", _change(ScheduleChange(target="ghost")), later)
    with pytest.raises(NotFound, match="no calendar named 'hols'"):
        store.change_schedule("s", _change(ScheduleChange(calendar="hols")), later)
    with pytest.raises(Conflict, match="schedule t does off"):
        store.change_schedule("s", _change(ScheduleChange(time="09:00")), later)
    with pytest.raises(NotFound, match="no schedule named 'nope'"):
        store.change_schedule("nope", _change(ScheduleChange(enabled=False)), later)
    assert store.get_schedule("s") == added


def test_edits_move_runs_from_only_when_the_times_change(store: SchedulesRepository) -> None:
    added = store.add_schedule(_sched("s", PowerAction.ON, "cron 0 7 * * *"), NOW)
    assert added.runs_from == NOW
    t1, t2, t3 = (NOW + timedelta(hours=h) for h in (1, 2, 3))
    _, after = store.change_schedule("s", _change(ScheduleChange(target="m2")), t1)
    assert (after.schedule.target, after.runs_from) == ("m2", NOW)
    _, after = store.change_schedule("s", _change(ScheduleChange(enabled=False)), t2)
    assert (after.schedule.enabled, after.runs_from) == (False, NOW)
    before, after = store.change_schedule("s", _change(ScheduleChange(enabled=True)), t3)
    assert not before.schedule.enabled
    assert (after.schedule.enabled, after.runs_from) == (True, t3)


def test_runs_are_not_claimed_while_disabled_or_before_new_times(
    store: SchedulesRepository,
) -> None:
    stored = store.add_schedule(_sched("s", PowerAction.ON, "cron 0 7 * * *"), NOW)
    due = NOW + timedelta(hours=1)
    store.change_schedule("s", _change(ScheduleChange(enabled=False)), NOW)
    assert store.claim_run(stored.id, due, RunStatus.CLAIMED, "a") is None
    enabled_at = due + timedelta(minutes=1)
    store.change_schedule("s", _change(ScheduleChange(enabled=True)), enabled_at)
    assert store.claim_run(stored.id, due, RunStatus.CLAIMED, "a") is None  # missed: gone
    assert store.claim_run(stored.id, due + timedelta(days=1), RunStatus.CLAIMED, "a")
    assert store.runs("s")[0].due_at == due + timedelta(days=1)


def test_a_database_at_0007_gets_runs_from_and_keeps_its_runs(database_url: str) -> None:
    from alembic import command

    from kanri.store.migrate import _config

    at = datetime(2026, 1, 1, tzinfo=UTC)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = _config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        with engine.begin() as connection:
            for table in ("calendars (id, name, dates, created_at) VALUES (1, 'c', '[]', :at)",
                          "groups (id, name, created_at) VALUES (1, 'g', :at)"):  # fmt: skip
                connection.execute(text(f"INSERT INTO {table}"), {"at": at})
            connection.execute(
                text(
                    "INSERT INTO schedules (id, name, action, group_id, rule, zone, calendar_id,"
                    " calendar_mode, missed, enabled, created_at) VALUES (1, 's', 'on', 1,"
                    " 'cron 0 7 * * *', 'UTC', 1, 'skip', 'skip', true, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO schedule_runs (schedule_id, due_at, status, detail,"
                    " claimed_by, at) VALUES (1, :at, 'submitted', '', 'x', :at)"
                ),
                {"at": at},
            )
    finally:
        engine.dispose()
    migrate.upgrade(database_url)
    db = Database(database_url)
    try:
        [stored] = SchedulesRepository(db).schedules()
        assert (stored.schedule.name, stored.runs_from) == ("s", at)
        assert [r.due_at for r in SchedulesRepository(db).runs("s")] == [at]
    finally:
        db.dispose()
