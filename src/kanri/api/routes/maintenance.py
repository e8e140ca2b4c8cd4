"""/api/v1/maintenance: machines and groups whose events are kept but run no actions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.rules import Maintenance

router = APIRouter(prefix="/api/v1/maintenance", tags=["rules"])


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(json_schema_extra={"pattern": NAME_PATTERN}, description="machine or group")
    reason: str = Field(default="", max_length=1000)
    until: datetime | None = Field(default=None, description="ISO 8601 with a zone; none: open")


class MaintenanceOut(BaseModel):
    target: str
    reason: str
    until: datetime | None
    created_by: str
    created_at: datetime | None

    @classmethod
    def of(cls, m: Maintenance) -> MaintenanceOut:
        return cls(
            target=m.target,
            reason=m.reason,
            until=m.until,
            created_by=m.created_by,
            created_at=m.created_at,
        )


@router.get("")
def list_maintenance(manager: ManagerDep, _: CallerDep) -> list[MaintenanceOut]:
    """The entries in force (expired ones count for nothing)."""
    return [MaintenanceOut.of(m) for m in manager.rules.maintenance()]


@router.post("", status_code=status.HTTP_201_CREATED)
def start_maintenance(
    body: MaintenanceIn, response: Response, manager: ManagerDep, caller: CallerDep
) -> MaintenanceOut:
    """Put a machine or group in maintenance: 201, or 200 when it was in already (the
    reason and end are replaced)."""
    entry, new = manager.rules.maintenance_on(body.target, body.reason, body.until, caller)
    if not new:
        response.status_code = status.HTTP_200_OK
    return MaintenanceOut.of(entry)


@router.delete("/{target}", status_code=status.HTTP_204_NO_CONTENT)
def end_maintenance(target: str, manager: ManagerDep, _: CallerDep) -> Response:
    """404 when the target is not in maintenance."""
    manager.rules.maintenance_off(target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
