"""/api/v1/partitions: partitions carved from hypervisor machines; and a machine's pool
and mode (/api/v1/machines/{name}/pool, /mode). See docs/partitions.md."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.routes.jobs import JobOut
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, Pool, PortKind, PortUse
from kanri.domain.pools import core_uses
from kanri.domain.states import PowerState
from kanri.engine.manager import Manager
from kanri.engine.partitions import StoredPartition

router = APIRouter(prefix="/api/v1/partitions", tags=["partitions"])
machine_router = APIRouter(prefix="/api/v1/machines/{name}", tags=["partitions"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PortIn(_In):
    port: str = Field(min_length=1, max_length=128, examples=["fc0"])
    shared: bool = False
    identity: str | None = Field(None, max_length=64, description="virtual WWPN/MAC if shared")


class PartitionIn(_In):
    host: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=63)
    cores: int
    memory_gib: int
    cpu_mode: CpuMode = CpuMode.DEDICATED
    shared_weight: int = 100
    ports: list[PortIn] = Field(default_factory=list, max_length=64)
    cpus: list[int] = Field(default_factory=list, max_length=4096)


class PartitionPatch(_In):
    cores: int | None = None
    memory_gib: int | None = None
    cpu_mode: CpuMode | None = None
    shared_weight: int | None = None
    ports: list[PortIn] | None = Field(None, max_length=64)
    cpus: list[int] | None = Field(None, max_length=4096)
    strict: bool = Field(
        False, description="refuse, rather than apply only the live part, while it runs"
    )


class PartitionOut(BaseModel):
    name: str
    host: str
    system_id: str
    cores: int
    memory_gib: int
    cpu_mode: CpuMode
    shared_weight: int
    ports: list[PortIn]
    cpus: list[int]
    power: PowerState
    run_state: str
    run_state_cause: str
    run_state_by: str
    run_state_at: datetime

    @classmethod
    def of(cls, p: StoredPartition, power: PowerState) -> PartitionOut:
        s = p.spec
        return cls(
            name=p.name,
            host=p.host,
            system_id=p.system_id,
            cores=s.cores,
            memory_gib=s.memory_gib,
            cpu_mode=s.cpu_mode,
            shared_weight=s.shared_weight,
            ports=[PortIn(port=u.port, shared=u.shared, identity=u.identity) for u in s.ports],
            cpus=list(s.cpus),
            power=power,
            run_state=p.run_state,
            run_state_cause=p.run_state_cause,
            run_state_by=p.run_state_by,
            run_state_at=p.run_state_at,
        )


class ModifyOut(BaseModel):
    partition: PartitionOut
    applied: list[str] = Field(description="changes made now")
    needs_restart: list[str] = Field(description="changes not made: stop it and modify again")
    summary: str


class CoreOut(BaseModel):
    index: int
    dedicated_to: str | None
    shared_by: list[str]


class PoolPortOut(BaseModel):
    id: str
    kind: PortKind
    identity: str
    dedicated_to: str | None
    shared_by: list[str]
    max_shared: int


class PoolOut(BaseModel):
    host: str
    mode: MachineMode
    cores: int
    cores_free: int
    memory_gib: int
    memory_used_gib: int
    memory_free_gib: int
    memory_block_gib: int
    max_shared_per_core: int
    core_use: list[CoreOut]
    ports: list[PoolPortOut]

    @classmethod
    def of(cls, host: str, pool: Pool, names: dict[str, str]) -> PoolOut:
        def named(system_id: str | None) -> str | None:
            return names.get(system_id, system_id) if system_id else system_id

        uses = core_uses(pool)
        return cls(
            host=host,
            mode=pool.mode,
            cores=pool.cores,
            cores_free=sum(1 for u in uses if u.free),
            memory_gib=pool.memory_gib,
            memory_used_gib=pool.memory_used_gib,
            memory_free_gib=max(pool.memory_gib - pool.memory_used_gib, 0),
            memory_block_gib=pool.memory_block_gib,
            max_shared_per_core=pool.max_shared_per_core,
            core_use=[
                CoreOut(
                    index=u.index,
                    dedicated_to=named(u.dedicated_to),
                    shared_by=[names.get(s, s) for s in u.shared_by],
                )
                for u in uses
            ],
            ports=[
                PoolPortOut(
                    id=p.id,
                    kind=p.kind,
                    identity=p.identity,
                    dedicated_to=named(p.dedicated_to),
                    shared_by=[names.get(s, s) for s in p.shared_by],
                    max_shared=p.max_shared,
                )
                for p in pool.ports
            ],
        )


class ModeIn(_In):
    mode: MachineMode
    force: bool = Field(
        False, description="unplace a server placed on the machine (it stops with the reboot)"
    )
    timeout: float = Field(600, gt=0, description="seconds to wait for the new mode")


def _ports(ports: list[PortIn]) -> tuple[PortUse, ...]:
    return tuple(PortUse(p.port, p.shared, p.identity) for p in ports)


def _out(manager: Manager, p: StoredPartition) -> PartitionOut:
    return PartitionOut.of(p, manager.repo.get_machine(p.name).power)


@router.get("")
def list_partitions(
    manager: ManagerDep, _: CallerDep, host: str | None = None
) -> list[PartitionOut]:
    machines = {m.name: m.power for m in manager.repo.list_machines()}
    return [
        PartitionOut.of(p, machines.get(p.name, PowerState.UNKNOWN))
        for p in manager.partitions.list(host)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_partition(body: PartitionIn, manager: ManagerDep, who: CallerDep) -> PartitionOut:
    """Compose a partition (off) on a hypervisor machine and register it as a machine.
    409 naming each resource the pool cannot give (asked, free) or the host's mode."""
    spec = PartitionSpec(
        name=body.name,
        cores=body.cores,
        memory_gib=body.memory_gib,
        cpu_mode=body.cpu_mode,
        shared_weight=body.shared_weight,
        ports=_ports(body.ports),
        cpus=tuple(body.cpus),
    )
    manager.partitions.create(body.host, spec, who)
    return _out(manager, manager.partitions.show(body.name))


@router.get("/{name}")
def show_partition(name: str, manager: ManagerDep, _: CallerDep) -> PartitionOut:
    return _out(manager, manager.partitions.show(name))


@router.patch("/{name}")
def modify_partition(
    name: str, body: PartitionPatch, manager: ManagerDep, who: CallerDep
) -> ModifyOut:
    """Change what is given. A running partition takes what may change live now; the rest
    is listed in ``needs_restart`` and not made (409 with ``strict``, or when none of it
    can change live)."""
    fields = body.model_dump(exclude_unset=True, exclude={"strict"})
    if body.ports is not None:
        fields["ports"] = _ports(body.ports)
    if body.cpus is not None:
        fields["cpus"] = tuple(body.cpus)
    fields = {k: v for k, v in fields.items() if v is not None}
    _, verdict = manager.partitions.modify_fields(name, fields, who, body.strict)
    return ModifyOut(
        partition=_out(manager, manager.partitions.show(name)),
        applied=list(verdict.live),
        needs_restart=list(verdict.needs_off),
        summary=verdict.summary(),
    )


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_partition(name: str, manager: ManagerDep, who: CallerDep) -> Response:
    """Free the partition's resources and forget its machine. 409 while it is on, or a
    server is placed on it."""
    manager.partitions.delete(name, who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@machine_router.get("/pool")
def machine_pool(name: str, manager: ManagerDep, _: CallerDep) -> PoolOut:
    """The machine's pool as its BMC reports it now: cores, memory and ports, and who
    holds each (partitions by their kanri names)."""
    pool = manager.partitions.pool(name)
    return PoolOut.of(name, pool, manager.partitions.names(name))


@machine_router.post("/mode", status_code=status.HTTP_201_CREATED)
def machine_mode(name: str, body: ModeIn, manager: ManagerDep, _: CallerDep) -> JobOut:
    """Switch the machine's mode: a ``mode`` job (set, reboot, verify). 409 if a server is
    placed on it (without ``force``) or, to bare, while it has partitions."""
    params = {"mode": body.mode.value, "force": body.force, "timeout": body.timeout}
    return JobOut.of(manager.jobs.submit("mode", [name], params), steps=True)
