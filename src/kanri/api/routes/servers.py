"""/api/v1/servers: servers, where they are placed, and their power by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.routes.jobs import JobOut
from kanri.domain.partitions import PortKind
from kanri.domain.servers import kind_of
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.engine.servers import ServerStatus

router = APIRouter(prefix="/api/v1/servers", tags=["servers"])

Port = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class ServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63, examples=["web-1"])
    boot_volume: str | None = Field(None, max_length=127, examples=["SAN/vol-web-1"])
    cores: int | None = Field(None, ge=1)
    memory_gib: int | None = Field(None, ge=1)
    uuid: str | None = Field(None, max_length=64, description="None: generated from the name")
    wwpns: dict[Port, str | None] = Field(
        default_factory=dict,
        description="port -> WWPN; null: generated in kanri's range",
        examples=[{"fc0": "2c:00:4b:41:00:00:00:01"}],
    )
    macs: dict[Port, str | None] = Field(
        default_factory=dict, description="port -> MAC; null: generated (locally administered)"
    )


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=63, description="a bare machine or a partition")


class ServerPowerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: PowerAction
    wait: bool = False
    timeout: float = Field(300, gt=0)


class PortOut(BaseModel):
    port: str
    kind: PortKind
    identity: str


class ServerOut(BaseModel):
    name: str
    uuid: str
    ports: list[PortOut]
    boot_volume: str | None
    cores: int | None
    memory_gib: int | None
    desired_power: PowerState
    placed_on: str | None = Field(description="the machine or partition it is placed on")
    placed_kind: SystemKind | None = Field(None, description="machine or partition")
    host: str | None = Field(None, description="the partition's host machine")
    power: PowerState | None = Field(None, description="its placement's power, as last read")

    @classmethod
    def of(cls, status: ServerStatus) -> ServerOut:
        s = status.server
        return cls(
            name=s.name,
            uuid=s.identity.uuid,
            ports=[
                PortOut(port=p, kind=kind_of(v), identity=v)
                for p, v in sorted(s.identity.ports.items())
            ],
            boot_volume=s.boot_volume,
            cores=s.cores,
            memory_gib=s.memory_gib,
            desired_power=s.desired_power,
            placed_on=s.placed_on,
            placed_kind=status.kind,
            host=status.host,
            power=status.power,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
def add_server(body: ServerIn, manager: ManagerDep, _: CallerDep) -> ServerOut:
    """A new server; 409 when its name or one of its identities is another's."""
    manager.servers.add(
        body.name, body.boot_volume, body.cores, body.memory_gib, body.wwpns, body.macs, body.uuid
    )
    return ServerOut.of(manager.servers.show(body.name))


@router.get("")
def list_servers(manager: ManagerDep, _: CallerDep) -> list[ServerOut]:
    return [ServerOut.of(manager.servers.show(s.name)) for s in manager.servers.list()]


@router.get("/{name}")
def show_server(name: str, manager: ManagerDep, _: CallerDep) -> ServerOut:
    return ServerOut.of(manager.servers.show(name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_server(name: str, manager: ManagerDep, who: CallerDep) -> Response:
    """Forget a server (unplaced first: 409 unless its target is off)."""
    manager.servers.remove(name, by=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/place")
def place_server(name: str, body: PlaceIn, manager: ManagerDep, who: CallerDep) -> ServerOut:
    """Present the server's identities on the target's ports from its next boot; 409 when
    the target is not off, holds another server or lacks what the server needs."""
    manager.servers.place(name, body.target, by=who)
    return ServerOut.of(manager.servers.show(name))


@router.post("/{name}/unplace")
def unplace_server(name: str, manager: ManagerDep, who: CallerDep) -> ServerOut:
    """The target's ports get their permanent identities back; 409 unless it is off."""
    manager.servers.unplace(name, by=who)
    return ServerOut.of(manager.servers.show(name))


@router.post("/{name}/power", status_code=status.HTTP_201_CREATED)
def power_server(name: str, body: ServerPowerIn, manager: ManagerDep, who: CallerDep) -> JobOut:
    """A ``power`` job on the server's placement; follow it at /api/v1/jobs/{id}."""
    job = manager.servers.power(name, body.action, body.wait, body.timeout, by=who)
    return JobOut.of(job, steps=True)
