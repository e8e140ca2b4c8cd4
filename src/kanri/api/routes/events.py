"""/api/v1/events: what kanri noticed (power drift, unreachable BMCs) and did."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.schemas import EventOut

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get("")
def list_events(
    manager: ManagerDep,
    _: CallerDep,
    target: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """Newest first."""
    return [EventOut.model_validate(e) for e in manager.repo.list_events(target, limit)]
