"""Jobs, the step journal and target locks, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from kanri.domain.jobs import JobState, StepSpec, StepState
from kanri.store.db import Database
from kanri.store.jobs_repo import JobRepository
from kanri.store.tables import TargetLockRow, utcnow


def test_acquire_is_all_or_nothing(db: Database) -> None:
    jobs = JobRepository(db)
    assert jobs.acquire(["a", "b"], 1, "m1", lease=60) == {}
    assert jobs.acquire(["b", "c"], 2, "m1", lease=60) == {"b": 1}
    assert jobs.holders(["a", "b", "c"]) == {"a": 1, "b": 1}  # c was not taken
    assert jobs.acquire(["a", "b"], 1, "m2", lease=60) == {}  # the same job takes its own
    jobs.release(1)
    assert jobs.acquire(["b", "c"], 2, "m1", lease=60) == {}
    assert jobs.holder("c") == 2


def test_an_expired_lease_is_taken_over_and_renew_keeps_one(db: Database) -> None:
    jobs = JobRepository(db)
    jobs.acquire(["a"], 1, "dead", lease=60)
    jobs.acquire(["b"], 2, "alive", lease=60)
    with db.session() as s:
        s.execute(update(TargetLockRow).values(expires_at=utcnow() - timedelta(seconds=1)))
    jobs.renew("alive", lease=60)
    assert jobs.holders(["a", "b"]) == {"b": 2}
    assert jobs.acquire(["a"], 3, "new", lease=60) == {}
    assert jobs.acquire(["b"], 3, "new", lease=60) == {"b": 2}


def _race(jobs: JobRepository, targets: list[str]) -> dict[int, dict[str, int]]:
    results: dict[int, dict[str, int]] = {}
    start = threading.Barrier(2)

    def take(job: int) -> None:
        start.wait()
        mine = targets if job % 2 else list(reversed(targets))  # overlapping, opposite order
        results[job] = jobs.acquire(mine, job, f"owner{job}", lease=60)

    threads = [threading.Thread(target=take, args=(j,)) for j in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_concurrent_acquirers_never_both_win(db: Database) -> None:
    jobs = JobRepository(db)
    targets = [f"m{i}" for i in range(20)]
    for _ in range(5):
        results = _race(jobs, targets)
        winners = [j for j, held in results.items() if not held]
        assert len(winners) <= 1, results
        assert set(jobs.holders(targets).values()) == set(winners)  # nobody holds a part
        jobs.release(1)
        jobs.release(2)


def test_the_journal_and_cancel(db: Database) -> None:
    jobs = JobRepository(db)
    specs = [StepSpec(f"s{i}", f"m{i}", "x", {"i": i}, group=i // 2) for i in range(3)]
    job = jobs.create("kind", ["m0", "m1", "m2"], {"p": 1}, specs, "me", lease=30)
    assert job.state is JobState.PENDING
    assert [s.group for s in job.steps] == [0, 0, 1]
    jobs.move(job.id, JobState.RUNNING)
    started = jobs.step_start(job.id, 0)
    assert started is not None
    assert started.state is StepState.STARTED
    assert started.attempts == 1
    again = jobs.step_start(job.id, 0)  # a resumed attempt
    assert again is not None
    assert again.attempts == 2
    jobs.step_end(job.id, 0, StepState.DONE, result={"ok": True})
    cancelling = jobs.request_cancel(job.id)
    assert cancelling.state is JobState.CANCELLING
    assert [s.state for s in cancelling.steps] == [
        StepState.DONE,
        StepState.CANCELLED,
        StepState.CANCELLED,
    ]
    assert jobs.step_start(job.id, 1) is None  # a cancelled step never starts
    done = jobs.move(job.id, JobState.CANCELLED)
    assert done.finished_at is not None
    assert done.steps[0].result == {"ok": True}
    assert [j.id for j in jobs.list_jobs(state=JobState.CANCELLED, kind="kind")] == [job.id]
    assert jobs.list_jobs(kind="other") == []


def test_adopt_takes_dead_owners_jobs_once(db: Database) -> None:
    jobs = JobRepository(db)
    old = jobs.create("k", ["a"], {}, [], "dir1:run1", lease=60)
    other = jobs.create("k", ["b"], {}, [], "dir2:run1", lease=60)
    assert jobs.adopt("dir1:run2", 60, "dir1:") == [old.id]  # same data dir, earlier run
    assert jobs.adopt("dir1:run3", 60, None) == []  # leases all good
    assert jobs.get(other.id).owner == "dir2:run1"
