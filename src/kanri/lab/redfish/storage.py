"""The lab's SAN as Swordfish-style Redfish: the array (``/Storage/SAN`` and its
Volumes) and its fabric (``/Fabrics/SAN``: initiator Endpoints, host groups as
Connections). Served by the same service, behind the same authentication, as the
systems. See docs/lab/san.md.
"""

from __future__ import annotations

from starlette.routing import Route

from kanri.lab.redfish import fabric, storage_volumes


def routes() -> list[Route]:
    return [*storage_volumes.routes(), *fabric.routes()]
