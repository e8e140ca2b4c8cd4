"""/api/v1/events/{id}/deliveries: what the rules' actions did for an event, attempt by
attempt; /api/v1/deliveries/{id}: one of them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kanri.api.deps import CallerDep, ManagerDep

router = APIRouter(tags=["events"])


@router.get("/api/v1/events/{event_id}/deliveries")
def event_deliveries(event_id: int, manager: ManagerDep, _: CallerDep) -> list[dict[str, Any]]:
    """Every action fired for the event, oldest first: state, attempts, the attempt log
    (receipt or error of each), the power job it started. 404 without such an event."""
    return manager.delivery.for_event(event_id)


@router.get("/api/v1/deliveries/{delivery_id}")
def delivery(delivery_id: int, manager: ManagerDep, _: CallerDep) -> dict[str, Any]:
    """One delivery with its attempt log."""
    return manager.delivery.get(delivery_id)
