"""Jobs, their step journal and the target locks, in the store. Domain values in and out.

Every write here is its own transaction, committed when the method returns: the runner
journals a step as started, *then* acts, *then* journals how it ended.

Target locks are rows keyed by target: taking a set of them is one transaction that fails
as a whole on the primary key when another transaction took one first (PostgreSQL and
SQLite alike). A row whose lease has expired is free to take.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.jobs import Job, JobState, Step, StepSpec, StepState, check_job_move
from kanri.store.db import Database
from kanri.store.tables import EventRow, JobRow, JobStepRow, TargetLockRow, utcnow

_LIVE = [JobState.PENDING.value, JobState.RUNNING.value, JobState.CANCELLING.value]


def _step(row: JobStepRow) -> Step:
    return Step(
        index=row.index,
        name=row.name,
        target=row.target,
        action=row.action,
        params=dict(row.params or {}),
        group=row.group,
        state=StepState(row.state),
        attempts=row.attempts,
        result=row.result,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _job(row: JobRow, with_steps: bool = True) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        targets=tuple(row.targets or ()),
        params=dict(row.params or {}),
        state=JobState(row.state),
        steps=tuple(_step(s) for s in row.steps) if with_steps else (),
        message=row.message,
        error=row.error,
        owner=row.owner,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # jobs -------------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        targets: list[str],
        params: dict[str, Any],
        steps: list[StepSpec],
        owner: str,
        lease: float,
    ) -> Job:
        """Store a planned job, pending, owned by ``owner``: all of it or nothing."""
        with self.db.session() as session:
            row = JobRow(
                kind=kind,
                targets=list(targets),
                params=params,
                state=JobState.PENDING.value,
                owner=owner,
                lease_expires_at=utcnow() + timedelta(seconds=lease),
            )
            row.steps = [
                JobStepRow(
                    index=i,
                    name=spec.name,
                    target=spec.target,
                    action=spec.action,
                    params=spec.params,
                    group=spec.group,
                    state=StepState.PENDING.value,
                    attempts=0,
                )
                for i, spec in enumerate(steps)
            ]
            session.add(row)
            session.flush()
            session.add(_event("job.submitted", row, f"job {row.id} ({kind}) submitted"))
            return _job(row)

    def _row(self, session: Session, job_id: int) -> JobRow:
        row = session.scalars(
            select(JobRow).where(JobRow.id == job_id).options(selectinload(JobRow.steps))
        ).one_or_none()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return row

    def get(self, job_id: int) -> Job:
        with self.db.session() as session:
            return _job(self._row(session, job_id))

    def list_jobs(
        self, state: JobState | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Job]:
        """Newest first, with their steps (progress needs them)."""
        with self.db.session() as session:
            query = (
                select(JobRow)
                .options(selectinload(JobRow.steps))
                .order_by(JobRow.id.desc())
                .limit(limit)
            )
            if state is not None:
                query = query.where(JobRow.state == state.value)
            if kind is not None:
                query = query.where(JobRow.kind == kind)
            return [_job(r) for r in session.scalars(query).all()]

    def move(
        self, job_id: int, new: JobState, message: str | None = None, error: str | None = None
    ) -> Job:
        """Move a job by the table (a :class:`BadMove` otherwise); events on start and end."""
        with self.db.session() as session:
            row = self._row(session, job_id)
            check_job_move(JobState(row.state), new)
            row.state = new.value
            row.message = message
            if error is not None:
                row.error = error
            now = utcnow()
            if new is JobState.RUNNING:
                row.started_at = now
                session.add(_event("job.started", row, f"job {row.id} ({row.kind}) started"))
            if new.ended:
                row.finished_at = now
                # In the same transaction: whoever sees the job ended may act on its
                # machines at once (a --wait that returns, then a command), not be told
                # they are still held.
                session.execute(delete(TargetLockRow).where(TargetLockRow.job_id == job_id))
                severity = "info" if new is JobState.SUCCEEDED else "error"
                text = f"job {row.id} ({row.kind}) {new.value}" + (f": {error}" if error else "")
                session.add(_event("job.finished", row, text, severity))
            return _job(row)

    def note(self, job_id: int, message: str | None) -> None:
        """What a job is waiting for, shown while it is pending."""
        with self.db.session() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(message=message))

    def request_cancel(self, job_id: int) -> Job:
        """Pending or running -> cancelling, and its steps not started -> cancelled."""
        with self.db.session() as session:
            row = self._row(session, job_id)
            state = JobState(row.state)
            if state.ended:
                raise Conflict(f"job {job_id} has ended ({state.value}); nothing to cancel")
            if state is not JobState.CANCELLING:
                check_job_move(state, JobState.CANCELLING)
                # Conditional, so a runner changing it at the same moment is never undone.
                done = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == state.value)
                    .values(state=JobState.CANCELLING.value, message="cancelling")
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    raise Conflict(f"job {job_id} changed state just now; try again")
                session.execute(
                    update(JobStepRow)
                    .where(
                        JobStepRow.job_id == job_id,
                        JobStepRow.state == StepState.PENDING.value,
                    )
                    .values(state=StepState.CANCELLED.value, finished_at=utcnow())
                )
                session.add(_event("job.cancelling", row, f"job {job_id} asked to cancel"))
        return self.get(job_id)

    # the journal ------------------------------------------------------------------------

    def step_start(self, job_id: int, index: int) -> Step | None:
        """Journal the step as started (one more attempt) before it acts.

        ``None`` when the step may not start: it was cancelled or has ended meanwhile.
        """
        with self.db.session() as session:
            done = session.execute(
                update(JobStepRow)
                .where(
                    JobStepRow.job_id == job_id,
                    JobStepRow.index == index,
                    JobStepRow.state.in_([StepState.PENDING.value, StepState.STARTED.value]),
                )
                .values(
                    state=StepState.STARTED.value,
                    attempts=JobStepRow.attempts + 1,
                    started_at=utcnow(),
                )
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.scalars(
                select(JobStepRow).where(JobStepRow.job_id == job_id, JobStepRow.index == index)
            ).one()
            return _step(row)

    def step_end(
        self,
        job_id: int,
        index: int,
        state: StepState,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Journal how a started step ended: done or failed."""
        if state not in (StepState.DONE, StepState.FAILED):
            raise ValueError(f"a started step ends done or failed, not {state.value}")
        with self.db.session() as session:
            session.execute(
                update(JobStepRow)
                .where(
                    JobStepRow.job_id == job_id,
                    JobStepRow.index == index,
                    JobStepRow.state == StepState.STARTED.value,
                )
                .values(state=state.value, result=result, error=error, finished_at=utcnow())
            )

    def end_pending_steps(self, job_id: int, state: StepState) -> None:
        """Every step not started -> skipped (a group failed) or cancelled."""
        with self.db.session() as session:
            session.execute(
                update(JobStepRow)
                .where(
                    JobStepRow.job_id == job_id,
                    JobStepRow.state == StepState.PENDING.value,
                )
                .values(state=state.value, finished_at=utcnow())
            )

    # ownership --------------------------------------------------------------------------

    def renew(self, owner: str, lease: float) -> None:
        """The heartbeat: extend the leases of ``owner``'s live jobs and locks."""
        until = utcnow() + timedelta(seconds=lease)
        with self.db.session() as session:
            session.execute(
                update(JobRow)
                .where(JobRow.owner == owner, JobRow.state.in_(_LIVE))
                .values(lease_expires_at=until)
            )
            session.execute(
                update(TargetLockRow).where(TargetLockRow.owner == owner).values(expires_at=until)
            )

    def adopt(self, owner: str, lease: float, predecessor_prefix: str | None = None) -> list[int]:
        """Take over live jobs whose manager is gone; their ids, oldest first.

        Gone: its lease on the job has expired, or it is an earlier run on this same data
        directory (``owner`` starts with ``predecessor_prefix``; one manager per data
        directory, so that run is dead).
        """
        now = utcnow()
        gone = [JobRow.lease_expires_at < now, JobRow.lease_expires_at.is_(None)]
        if predecessor_prefix:
            gone.append(JobRow.owner.startswith(predecessor_prefix, autoescape=True))
        adopted: list[int] = []
        with self.db.session() as session:
            found = session.execute(
                select(JobRow.id, JobRow.owner)
                .where(JobRow.state.in_(_LIVE), JobRow.owner.is_distinct_from(owner), or_(*gone))
                .order_by(JobRow.id)
            ).all()
        for job_id, old in found:
            with self.db.session() as session:
                # Compare and set: of two managers adopting at once, one wins.
                taken = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.owner.is_not_distinct_from(old))
                    .values(owner=owner, lease_expires_at=now + timedelta(seconds=lease))
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    adopted.append(job_id)
                    session.add(
                        EventRow(
                            kind="job.adopted",
                            severity="warning",
                            target=None,
                            message=f"job {job_id} resumed by {owner} (was {old})",
                            details={"job": job_id, "from": old, "to": owner},
                        )
                    )
        return adopted

    # target locks -----------------------------------------------------------------------

    def acquire(
        self, targets: Iterable[str], job_id: int, owner: str, lease: float
    ) -> dict[str, int]:
        """Hold every target for ``job_id``, or none: ``{}`` when held, else who holds what.

        A lock of the same job (a resumed job, an earlier manager's run of it) is taken
        over; a lock whose lease has expired is free.
        """
        wanted = sorted(set(targets))
        now = utcnow()
        try:
            with self.db.session() as session:
                rows = session.scalars(
                    select(TargetLockRow)
                    .where(TargetLockRow.target.in_(wanted))
                    .order_by(TargetLockRow.target)
                    .with_for_update()
                ).all()
                held = {
                    r.target: r.job_id for r in rows if r.job_id != job_id and r.expires_at > now
                }
                if held:
                    return held
                for r in rows:
                    session.delete(r)
                session.flush()
                until = now + timedelta(seconds=lease)
                session.add_all(
                    TargetLockRow(target=t, job_id=job_id, owner=owner, expires_at=until)
                    for t in wanted
                )
                session.flush()
        except IntegrityError:  # another transaction took one of them first
            held = self.holders(wanted)
            return {t: j for t, j in held.items() if j != job_id} or dict.fromkeys(wanted, 0)
        return {}

    def release(self, job_id: int) -> None:
        with self.db.session() as session:
            session.execute(delete(TargetLockRow).where(TargetLockRow.job_id == job_id))

    def holders(self, targets: Iterable[str], at: datetime | None = None) -> dict[str, int]:
        """Which job holds each of ``targets`` now (leases not expired)."""
        now = at or utcnow()
        with self.db.session() as session:
            rows = session.execute(
                select(TargetLockRow.target, TargetLockRow.job_id).where(
                    TargetLockRow.target.in_(list(targets)), TargetLockRow.expires_at > now
                )
            ).all()
            return {t: j for t, j in rows}

    def holder(self, target: str) -> int | None:
        return self.holders([target]).get(target)


def _event(kind: str, row: JobRow, message: str, severity: str = "info") -> EventRow:
    return EventRow(
        kind=kind,
        severity=severity,
        target=None,
        message=message,
        details={"job": row.id, "kind": row.kind, "targets": list(row.targets or ())},
    )
