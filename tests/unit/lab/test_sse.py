"""An event stream listens to the lab only while a client reads it."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from kanri.lab.redfish import sse
from kanri.lab.redfish.app import create_app
from kanri.lab.redfish.events import SSE
from tests.unit.lab.conftest import MakeLab


def test_a_stream_whose_client_left_before_it_began_leaves_no_listener(
    make_lab: MakeLab,
) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    app = create_app(lab)

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def client_gone_at_once() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": SSE,
            "query_string": b"",
            "headers": [],
            "app": app,
        }
        response = await sse.stream(Request(scope, receive))
        del response  # never streamed: the client disconnected before the first byte
        with lab.lock:
            for n in range(sse.QUEUE + 1):
                lab.emit("Alert", "ResourceEvent.1.4.TestMessage", f"{n}", "OK", "/redfish/v1")
        await asyncio.sleep(0)  # lets the loop take what a listener handed it

    asyncio.run(client_gone_at_once())
    # A listener left behind would queue every event for nobody, then drop them.
    assert [r for r in lab.history.since() if r.kind == "event.sse_dropped"] == []
