"""/api/v1/events: fault events (what kanri noticed and did), one event, acknowledging,
and the live stream (Server-Sent Events). See docs/events.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.event_stream import StreamFilter, frames, resume_from
from kanri.domain.errors import Invalid
from kanri.domain.faults import EventState, Severity
from kanri.engine.events import event_document

router = APIRouter(prefix="/api/v1/events", tags=["events"])


class EventOut(BaseModel):
    id: int
    at: datetime  # when it began
    last_at: datetime  # when it last grew (or cleared)
    kind: str
    severity: Severity
    state: EventState
    source: str
    target: str | None
    component: str
    message: str
    count: int
    affected: list[str]
    details: dict[str, Any]
    acked_by: str | None
    acked_at: datetime | None
    cleared_at: datetime | None


class EventDetailOut(EventOut):
    diagnostics: dict[str, Any]
    # What rules did about it (the deliveries of its actions), when actions are wired.
    deliveries: list[dict[str, Any]] | None = None


SeverityQ = Annotated[
    Severity | None, Query(description="this severity and worse (warning: warning, critical)")
]
KindQ = Annotated[str | None, Query(max_length=64, description="kinds starting with this")]
TargetQ = Annotated[str | None, Query(max_length=63)]


def _aware(since: datetime | None) -> datetime | None:
    if since is not None and since.tzinfo is None:
        raise Invalid(f"since {since.isoformat()} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return since


@router.get("")
def list_events(
    manager: ManagerDep,
    _: CallerDep,
    severity: SeverityQ = None,
    kind: KindQ = None,
    target: TargetQ = None,
    state: EventState | None = None,
    since: Annotated[datetime | None, Query(description="active since (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """Newest first."""
    found = manager.events.list(severity, kind, target, state, _aware(since), None, limit)
    return [EventOut.model_validate(event_document(e, diagnostics=False)) for e in found]


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    manager: ManagerDep,
    _: CallerDep,
    severity: SeverityQ = None,
    kind: KindQ = None,
    target: TargetQ = None,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """Server-Sent Events: each frame's data is an event document with its ``change``
    (new, grew, escalated, cleared, acknowledged); its id is ``EVENT_ID:CHANGE``. With a
    Last-Event-ID header, the events after that id are replayed from the database first.
    Comment lines keep the connection alive."""
    after = resume_from(last_event_id)
    wanted = StreamFilter(severity, kind, target)
    return StreamingResponse(
        frames(manager.events, wanted, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{event_id}")
def show_event(manager: ManagerDep, _: CallerDep, event_id: int) -> EventDetailOut:
    """One event with its diagnostics, what it affects, and (when actions are wired) its
    deliveries."""
    return _detail(manager, event_id)


@router.post("/{event_id}/ack")
def ack_event(manager: ManagerDep, caller: CallerDep, event_id: int) -> EventDetailOut:
    """Mark it seen (it still grows); 409 for a cleared or already acknowledged event."""
    manager.events.ack(event_id, caller)
    return _detail(manager, event_id)


def _detail(manager: ManagerDep, event_id: int) -> EventDetailOut:
    doc = event_document(manager.events.get(event_id), diagnostics=True)
    deliveries = getattr(manager, "delivery", None)
    if deliveries is not None and hasattr(deliveries, "for_event"):
        doc["deliveries"] = deliveries.for_event(event_id)
    return EventDetailOut.model_validate(doc)
