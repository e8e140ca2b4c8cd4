"""Serve a DMTF mockup folder read-only over HTTP on loopback, as a BMC would.

Each URI ``/redfish/v1/<path>`` maps to ``<root>/<path>/index.json``. Anything but GET
answers 405 (so sushy's session login fails and it falls back to basic auth, as with a
BMC without sessions); unknown paths answer 404 with a Redfish error body.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]
# CI runs in a fresh clone with a copy of shared/ beside it.
DMTF_MOCKUPS = REPO.parent / "shared" / "redfish" / "mockups"
OUR_MOCKUPS = Path(__file__).resolve().parent / "fixtures" / "redfish"


def mockup_file(root: Path, uri: str) -> Path:
    relative = uri.split("?", maxsplit=1)[0].removeprefix("/redfish/v1").strip("/")
    return root / relative / "index.json"


class _Handler(BaseHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read answers, not access logs."""

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/redfish":
            self._answer(200, {"v1": "/redfish/v1/"})
            return
        path = mockup_file(self.root, self.path)
        if not self.path.startswith("/redfish/v1") or not path.is_file():
            error = {"code": "Base.1.0.ResourceMissingAtURI", "message": f"{self.path} not found"}
            self._answer(404, {"error": error})
            return
        self._answer(200, json.loads(path.read_text()))

    def _refuse(self) -> None:
        self._answer(405, {"error": {"code": "Base.1.0.GeneralError", "message": "read-only"}})

    do_POST = do_PATCH = do_PUT = do_DELETE = _refuse  # noqa: N815 - http.server's names


class MockupServer:
    """``with MockupServer(folder) as server: server.url``"""

    def __init__(self, root: Path) -> None:
        if not (root / "index.json").is_file():
            raise FileNotFoundError(f"not a mockup folder (no index.json): {root}")
        handler = type("Handler", (_Handler,), {"root": root})
        self.root = root
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MockupServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
