"""The EventService's Server-Sent Events stream: every lab event as ``id:``/``data:``
lines, optionally filtered (``$filter``), resumable with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kanri.lab.model.events import LabEvent
from kanri.lab.redfish.common import BadRequest, lab_of
from kanri.lab.redfish.delivery import event_doc, same_message

QUEUE = 1000  # events waiting for a slow reader; more are dropped and recorded
KEEPALIVE = 15.0  # real seconds between comment lines on a quiet stream
WAKE = 0.25  # real seconds between looks at whether the service is stopping

_TERM = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$")
_FILTERS: dict[str, Callable[[LabEvent, str], bool]] = {
    "EventType": lambda e, v: e.event_type == v,
    "MessageId": lambda e, v: same_message(e.message_id, v),
    "RegistryPrefix": lambda e, v: e.message_id.split(".", 1)[0] == v,
    "OriginResource": lambda e, v: e.origin == v.rstrip("/"),
}


def parse_filter(text: str | None) -> Callable[[LabEvent], bool]:
    """``$filter``: terms ``Property eq 'value'`` joined by ``and`` / ``or`` (``and``
    binds tighter); properties EventType, MessageId, RegistryPrefix, OriginResource."""
    if not text:
        return lambda _e: True
    alternatives: list[list[tuple[Callable[[LabEvent, str], bool], str]]] = []
    for part in re.split(r"\s+or\s+", text.strip()):
        terms = []
        for term in re.split(r"\s+and\s+", part):
            match = _TERM.match(term)
            if match is None or match.group(1) not in _FILTERS:
                raise BadRequest(
                    f"$filter term {term.strip()!r} is not understood: use Property eq 'value' "
                    f"with and/or, Property one of {', '.join(_FILTERS)}",
                    "QueryParameterValueFormatError",
                )
            terms.append((_FILTERS[match.group(1)], match.group(2)))
        alternatives.append(terms)
    return lambda e: any(all(test(e, v) for test, v in terms) for terms in alternatives)


def _frame(event: LabEvent) -> str:
    return f"id: {event.id}\ndata: {json.dumps(event_doc(event))}\n\n"


async def stream(request: Request) -> Response:
    lab = lab_of(request)
    stopping: threading.Event = request.app.state.stopping
    wanted = parse_filter(request.query_params.get("$filter"))
    try:
        last_seen = int(request.headers.get("last-event-id", "0"))
    except ValueError:
        last_seen = 0
    loop = asyncio.get_running_loop()
    waiting: asyncio.Queue[LabEvent] = asyncio.Queue(QUEUE)

    def put(event: LabEvent) -> None:
        try:
            waiting.put_nowait(event)
        except asyncio.QueueFull:
            lab.record("event.sse_dropped", event=event.id, message_id=event.message_id)

    def on_event(event: LabEvent) -> None:  # on whichever thread raised the event
        with contextlib.suppress(RuntimeError):  # the server's loop is gone
            loop.call_soon_threadsafe(put, event)

    async def frames() -> AsyncIterator[str]:
        # Listening only once streaming begins: a client gone before that leaves no
        # listener behind (this generator's `finally` runs only if it started).
        unlisten = lab.events.listen(on_event)
        # Listening first, then reading the backlog: nothing raised in between is lost,
        # and ids say what was sent already.
        backlog = [e for e in list(lab.events.recent) if e.id > last_seen] if last_seen else []
        sent = last_seen
        try:
            yield ": kanri lab event stream\n\n"
            for event in backlog:
                sent = event.id
                if wanted(event):
                    yield _frame(event)
            quiet_since = time.monotonic()
            while not stopping.is_set():
                try:
                    event = await asyncio.wait_for(waiting.get(), WAKE)
                except TimeoutError:
                    if time.monotonic() - quiet_since >= KEEPALIVE:
                        quiet_since = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                if event.id > sent and wanted(event):
                    quiet_since = time.monotonic()
                    sent = event.id
                    yield _frame(event)
        finally:
            unlisten()

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "OData-Version": "4.0"},
    )
