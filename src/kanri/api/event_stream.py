"""The live event stream's frames: replay from the database after a Last-Event-ID, then
what the EventService tells its watchers, with keepalive comments, until the client goes
or the manager stops."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from kanri.domain.errors import Invalid
from kanri.domain.faults import Change, EventState, FaultEvent, Severity
from kanri.engine.events import ACKNOWLEDGED, EventService, event_document

KEEPALIVE_SECONDS = 15.0
QUEUE_SIZE = 1000  # a client this far behind is dropped; it reconnects and replays
REPLAY_PAGE = 500
_STOP = None


@dataclass(frozen=True, slots=True)
class StreamFilter:
    severity: Severity | None = None
    kind: str | None = None
    target: str | None = None

    def __call__(self, event: FaultEvent) -> bool:
        return (
            (self.severity is None or event.severity.rank >= self.severity.rank)
            and (not self.kind or event.kind.startswith(self.kind))
            and (self.target is None or event.target == self.target)
        )


def resume_from(last_event_id: str | None) -> int | None:
    """The event id in a Last-Event-ID (``123:grew`` or ``123``), or None."""
    if last_event_id is None or not last_event_id.strip():
        return None
    head = last_event_id.strip().split(":", 1)[0]
    if not head.isdigit():
        raise Invalid(f"Last-Event-ID {last_event_id!r} is not EVENT_ID or EVENT_ID:CHANGE")
    return int(head)


def frame(event: FaultEvent, change: str) -> str:
    data = {**event_document(event, diagnostics=False), "change": change}
    return f"id: {event.id}:{change}\ndata: {json.dumps(data, sort_keys=True)}\n\n"


def _replayed_change(event: FaultEvent) -> str:
    if event.state is EventState.CLEARED:
        return Change.CLEARED.value
    if event.state is EventState.ACKNOWLEDGED:
        return ACKNOWLEDGED
    return Change.NEW.value


async def frames(
    service: EventService, wanted: StreamFilter, after: int | None
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[FaultEvent, str] | None] = asyncio.Queue(QUEUE_SIZE + 1)

    def offer(item: tuple[FaultEvent, str] | None) -> None:
        if queue.qsize() >= QUEUE_SIZE and item is not None:
            item = _STOP  # too far behind: end the stream, the client resumes from the DB
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(item)

    def from_thread(item: tuple[FaultEvent, str] | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the stream is gone
            loop.call_soon_threadsafe(offer, item)

    # Watch first, then replay: what commits in between is in both, and is skipped live.
    unwatch = service.watch(lambda e, c: from_thread((e, c)), lambda: from_thread(_STOP))
    try:
        yield ": kanri event stream\n\n"
        replayed = 0
        if after is not None:
            async for event in _replay(service, wanted, after):
                replayed = event.id
                yield frame(event, _replayed_change(event))
            replayed = max(replayed, after)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if item is None:  # the manager stops, or this client fell too far behind
                return
            event, change = item
            if change == Change.NEW.value and event.id <= replayed:
                continue
            if wanted(event):
                yield frame(event, change)
    finally:
        unwatch()


async def _replay(
    service: EventService, wanted: StreamFilter, after: int
) -> AsyncIterator[FaultEvent]:
    while True:
        page = await asyncio.to_thread(
            service.list,
            wanted.severity,
            wanted.kind,
            wanted.target,
            None,
            None,
            after,
            REPLAY_PAGE,
        )
        for event in page:
            yield event
        if len(page) < REPLAY_PAGE:
            return
        after = page[-1].id
