"""Run states (docs/partitions.md "Run states"): each partition's on a host, and the
snapshots frozen when a host was lost — list, show, restore."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.runstate import Tracked, to_start
from kanri.engine.runstates import StoredSnapshot

router = APIRouter(prefix="/api/v1/snapshots", tags=["run states"])
machine_router = APIRouter(prefix="/api/v1/machines/{host}/run-states", tags=["run states"])


class RunStateOut(BaseModel):
    partition: str
    state: str = Field(description="running, stopped_by_operator, lost_with_host, ...")
    cause: str | None = Field(description="what changed it last (operator_stop, host_failed, ...)")
    by: str | None = Field(description="who: a token's name, kanri, host, seen")
    at: datetime | None

    @classmethod
    def of(cls, name: str, t: Tracked) -> RunStateOut:
        return cls(
            partition=name,
            state=t.state.value,
            cause=t.cause.value if t.cause else None,
            by=t.by,
            at=t.at,
        )


class SnapshotOut(BaseModel):
    id: int
    host: str
    cause: str
    at: datetime
    event_id: int | None
    restored_at: datetime | None
    to_start: list[str] = Field(description="the partitions a restore starts (still lost ones)")
    states: list[RunStateOut] | None = None

    @classmethod
    def of(cls, s: StoredSnapshot, states: bool = False) -> SnapshotOut:
        return cls(
            id=s.id,
            host=s.host,
            cause=s.snapshot.cause.value,
            at=s.snapshot.at,
            event_id=s.event_id,
            restored_at=s.restored_at,
            to_start=to_start(s.snapshot),
            states=[RunStateOut.of(n, t) for n, t in s.snapshot.states.items()] if states else None,
        )


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    onto: str | None = Field(
        None,
        json_schema_extra={"pattern": NAME_PATTERN},
        description="another host whose partitions (same names) take the run states",
    )


class RestoreOut(BaseModel):
    snapshot: int
    job: int | None = Field(description="the power job starting them; null: nothing to start")


@machine_router.get("")
def run_states(host: str, manager: ManagerDep, _: CallerDep) -> list[RunStateOut]:
    """The run state of each partition of ``host``, who changed it last and when."""
    return [RunStateOut.of(n, t) for n, t in manager.runstates.states(host).items()]


@router.get("")
def list_snapshots(manager: ManagerDep, _: CallerDep, host: str | None = None) -> list[SnapshotOut]:
    """Snapshots frozen when hosts were lost, newest first."""
    return [SnapshotOut.of(s) for s in manager.runstates.snapshots(host)]


@router.get("/{snapshot_id}")
def show_snapshot(snapshot_id: int, manager: ManagerDep, _: CallerDep) -> SnapshotOut:
    return SnapshotOut.of(manager.runstates.snapshot(snapshot_id), states=True)


@router.post("/{snapshot_id}/restore", status_code=status.HTTP_202_ACCEPTED)
def restore_snapshot(
    snapshot_id: int, manager: ManagerDep, who: CallerDep, body: RestoreIn | None = None
) -> RestoreOut:
    """Start exactly the partitions the snapshot lost that are still lost, as one power job
    (409 if it was restored already)."""
    onto = body.onto if body else None
    job = manager.runstates.restore(snapshot_id, onto_host=onto, by=who)
    return RestoreOut(snapshot=snapshot_id, job=job)
