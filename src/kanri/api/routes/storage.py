"""/api/v1/storage: register storage arrays, list them, and read their volumes live."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.storage import StorageArray, StorageSystem, Volume, VolumeMapping, mappings

router = APIRouter(prefix="/api/v1/storage", tags=["storage"])


class StorageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    url: str = Field(min_length=1, max_length=512, examples=["https://10.0.0.20"])
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024, json_schema_extra={"writeOnly": True})
    verify_tls: bool = True
    driver: str = Field(
        "swordfish", min_length=1, max_length=64, description="storage driver: swordfish, fake, ..."
    )


class StorageOut(BaseModel):
    name: str
    url: str
    driver: str
    username: str
    verify_tls: bool

    @classmethod
    def of(cls, s: StorageSystem) -> StorageOut:
        return cls(
            name=s.name, url=s.url, driver=s.driver, username=s.username, verify_tls=s.verify_tls
        )


class MappingOut(BaseModel):
    host_group: str
    lun: int
    initiators: list[str]

    @classmethod
    def of(cls, m: VolumeMapping) -> MappingOut:
        return cls(host_group=m.host_group, lun=m.lun, initiators=list(m.initiators))


class VolumeOut(BaseModel):
    storage: str
    id: str
    name: str
    capacity_bytes: int
    durable_name: str | None
    mappings: list[MappingOut] = Field(description="host groups, LUNs and initiators")

    @classmethod
    def of(cls, storage: str, v: Volume, found: list[VolumeMapping]) -> VolumeOut:
        return cls(
            storage=storage,
            id=v.id,
            name=v.name,
            capacity_bytes=v.capacity_bytes,
            durable_name=v.durable_name,
            mappings=[MappingOut.of(m) for m in found],
        )


@router.post("", status_code=status.HTTP_201_CREATED)
def add_storage(body: StorageIn, manager: ManagerDep, _: CallerDep) -> StorageOut:
    """Register an array; it must answer to the credentials first (nothing is stored if
    it does not)."""
    array = StorageArray(body.url, body.username, body.password, body.verify_tls)
    return StorageOut.of(manager.storage.add(body.name, array, body.driver))


@router.get("")
def list_storage(manager: ManagerDep, _: CallerDep) -> list[StorageOut]:
    return [StorageOut.of(s) for s in manager.storage.systems()]


@router.get("/{name}")
def show_storage(name: str, manager: ManagerDep, _: CallerDep) -> StorageOut:
    return StorageOut.of(manager.storage.get(name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_storage(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    """Forget the array. Its volumes and host groups are left as they are."""
    manager.storage.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/volumes")
def list_volumes(name: str, manager: ManagerDep, _: CallerDep) -> list[VolumeOut]:
    """Every volume as the array tells it now, with the host groups, LUNs and initiators
    it is mapped to."""
    contents = manager.storage.contents(name)
    found = mappings(contents.host_groups)
    return [VolumeOut.of(name, v, found.get(v.id, [])) for v in contents.volumes]
