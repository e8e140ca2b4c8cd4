"""/api/v1/machines: register, list, show, rename, refresh and remove machines."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.schemas import MachineIn, MachineOut, RenameIn
from kanri.domain.model import Bmc

router = APIRouter(prefix="/api/v1/machines", tags=["machines"])


@router.post("", status_code=status.HTTP_201_CREATED)
def add_machines(body: MachineIn, manager: ManagerDep, _: CallerDep) -> list[MachineOut]:
    """Discover what the BMC manages and register every system (or only ``system_id``)."""
    bmc = Bmc(body.bmc_url, body.username, body.password, body.verify_tls)
    machines = manager.machines.add(body.name, bmc, body.driver, body.system_id)
    return [MachineOut.of(m) for m in machines]


@router.get("")
def list_machines(manager: ManagerDep, _: CallerDep) -> list[MachineOut]:
    return [MachineOut.of(m) for m in manager.repo.list_machines()]


@router.get("/{name}")
def show_machine(name: str, manager: ManagerDep, _: CallerDep) -> MachineOut:
    return MachineOut.of(manager.repo.get_machine(name))


@router.patch("/{name}")
def rename_machine(name: str, body: RenameIn, manager: ManagerDep, _: CallerDep) -> MachineOut:
    """Rename; 409 while an operation or a live job holds the machine (naming the job)."""
    return MachineOut.of(manager.machines.rename(name, body.name))


@router.post("/{name}/refresh")
def refresh_machine(name: str, manager: ManagerDep, _: CallerDep) -> MachineOut:
    """Read the machine's inventory and health from its BMC again."""
    return MachineOut.of(manager.machines.refresh(name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_machine(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    """Forget the machine. Its power is left as it is. 409 while an operation or a live job
    holds it (naming the job), or a schedule acts on it, itself or through a group."""
    manager.machines.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
