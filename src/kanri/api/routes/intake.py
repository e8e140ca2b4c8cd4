"""/api/v1/intake/redfish/{secret}: where BMCs push their Redfish events.

No bearer token: a BMC cannot hold one. The secret in the path, made for that one BMC's
subscription, is what lets an event in (docs/monitoring.md); anything else is 404, so the
address of a subscription cannot be guessed by probing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from kanri.api.deps import ManagerDep
from kanri.domain.errors import BmcError, NotFound

router = APIRouter(prefix="/api/v1/intake", tags=["monitoring"])


@router.post("/redfish/{secret}", status_code=204, include_in_schema=False)
async def receive_redfish_event(secret: str, request: Request, manager: ManagerDep) -> Response:
    try:
        body: Any = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "a Redfish Event is a JSON object")
    try:
        # Recording events writes to the database: not on the event loop.
        await asyncio.to_thread(manager.intake.receive, secret, body)
    except NotFound:
        raise HTTPException(404, "no such subscription") from None
    except BmcError as exc:  # not an event the driver can read
        raise HTTPException(400, f"not a Redfish Event: {exc.reason}") from None
    return Response(status_code=204)
