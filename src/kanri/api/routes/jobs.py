"""/api/v1/jobs: submit, list, show and cancel durable jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.jobs import Job, JobState, Step, StepState

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64, examples=["power"])
    targets: list[str] = Field(min_length=1, max_length=10_000, examples=[["web1", "web2"]])
    params: dict[str, Any] = Field(
        default_factory=dict, examples=[{"action": "on", "wait": True, "timeout": 300}]
    )


class StepOut(BaseModel):
    index: int
    name: str
    target: str | None
    action: str
    group: int
    state: StepState
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, s: Step) -> StepOut:
        return cls(
            index=s.index,
            name=s.name,
            target=s.target,
            action=s.action,
            group=s.group,
            state=s.state,
            attempts=s.attempts,
            result=s.result,
            error=s.error,
            started_at=s.started_at,
            finished_at=s.finished_at,
        )


class JobOut(BaseModel):
    id: int
    kind: str
    targets: list[str]
    params: dict[str, Any]
    state: JobState
    progress: float = Field(description="ended steps / all steps, 0 to 1")
    steps_total: int
    steps_done: int
    message: str | None = Field(description="what a pending job waits for")
    error: str | None
    owner: str | None = Field(description="the manager instance running it")
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepOut] | None = Field(None, description="only when one job is shown")

    @classmethod
    def of(cls, j: Job, steps: bool = False) -> JobOut:
        return cls(
            id=j.id,
            kind=j.kind,
            targets=list(j.targets),
            params=j.params,
            state=j.state,
            progress=round(j.progress, 4),
            steps_total=len(j.steps),
            steps_done=sum(1 for s in j.steps if s.state is StepState.DONE),
            message=j.message,
            error=j.error,
            owner=j.owner,
            created_at=j.created_at,
            started_at=j.started_at,
            finished_at=j.finished_at,
            steps=[StepOut.of(s) for s in j.steps] if steps else None,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
def submit_job(body: JobIn, manager: ManagerDep, who: CallerDep) -> JobOut:
    """Plan a job and start it. Bad input (unknown kind, target or parameter) stores nothing."""
    # Who asked: a partition's run state records it (docs/partitions.md "Run states").
    params = {**body.params, "by": who} if body.kind == "power" else body.params
    return JobOut.of(manager.jobs.submit(body.kind, body.targets, params), steps=True)


@router.get("")
def list_jobs(
    manager: ManagerDep,
    _: CallerDep,
    state: JobState | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JobOut]:
    """Newest first."""
    return [JobOut.of(j) for j in manager.jobs.list_jobs(state, kind, limit)]


@router.get("/{job_id}")
def show_job(job_id: int, manager: ManagerDep, _: CallerDep) -> JobOut:
    return JobOut.of(manager.jobs.get(job_id), steps=True)


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_job(job_id: int, manager: ManagerDep, _: CallerDep) -> JobOut:
    """Steps not started are cancelled; a running step finishes; the job ends cancelled."""
    return JobOut.of(manager.jobs.cancel(job_id), steps=True)
