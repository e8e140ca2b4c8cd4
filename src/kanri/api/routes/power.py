"""/api/v1/machines/{name}/power: read and set a machine's power."""

from __future__ import annotations

from fastapi import APIRouter, status

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.schemas import PowerActionOut, PowerIn, PowerOut

router = APIRouter(prefix="/api/v1/machines/{name}/power", tags=["power"])


@router.get("")
def get_power(name: str, manager: ManagerDep, _: CallerDep, cached: bool = False) -> PowerOut:
    """The power state read from the BMC now, or with ``cached=true`` as last synced."""
    reading = manager.power.cached(name) if cached else manager.power.read(name)
    return PowerOut.of(reading)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def set_power(name: str, body: PowerIn, manager: ManagerDep, who: CallerDep) -> PowerActionOut:
    """Ask for a power action. The BMC carries it out in its own time: poll GET to follow."""
    return PowerActionOut.of(manager.power.set(name, body.action, who=who))
