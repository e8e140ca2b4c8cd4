"""/api/v1/machines/{name}/power: read and set a machine's power."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.schemas import BootIn, PowerActionOut, PowerIn, PowerOut
from kanri.engine.servers import resolve_target

router = APIRouter(prefix="/api/v1/machines/{name}/power", tags=["power"])


@router.get("")
def get_power(name: str, manager: ManagerDep, _: CallerDep, cached: bool = False) -> PowerOut:
    """The power state read from the BMC now, or with ``cached=true`` as last synced."""
    name = resolve_target(manager.repo, name)  # a server's name: its placement
    reading = manager.power.cached(name) if cached else manager.power.read(name)
    return PowerOut.of(reading)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def set_power(name: str, body: PowerIn, manager: ManagerDep, who: CallerDep) -> PowerActionOut:
    """Ask for a power action. The BMC carries it out in its own time: poll GET to follow."""
    name = resolve_target(manager.repo, name)  # a server's name: its placement
    return PowerActionOut.of(manager.power.set(name, body.action, who=who))


@router.put("/boot", status_code=status.HTTP_204_NO_CONTENT)
def set_boot(name: str, body: BootIn, manager: ManagerDep, who: CallerDep) -> Response:
    """Boot source override: where the machine boots next time (or every time)."""
    name = resolve_target(manager.repo, name)  # a server's name: its placement
    manager.power.set_boot(name, body.target, body.once, who=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
