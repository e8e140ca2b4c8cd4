"""Run a lab: its Redfish service over HTTP on a thread of this process.

The same object serves ``kanri lab serve`` and the tests' fixture::

    with LabServer(config, directory) as lab_server:
        sushy.Sushy(lab_server.url + "/redfish/v1", "admin", "password")
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from kanri.lab.config import LabConfig
from kanri.lab.model.lab import Lab
from kanri.lab.model.watch import watch_invariants
from kanri.lab.persist import open_lab, save
from kanri.lab.redfish.app import create_app


class LabServerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class LabServer:
    def __init__(
        self, config: LabConfig, directory: Path, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config
        self.directory = directory
        self.host = host
        self.port = port or free_port(host)
        self.lab: Lab | None = None
        self._server: uvicorn.Server | None = None
        self._app: Starlette | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The BMC URL to give kanri: scheme, host and port."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LabServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lab = open_lab(self.config, self.directory)  # as saved there, else as configured
        watch_invariants(self.lab)
        app = self._app = create_app(self.lab)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # In case a request still holds on after `stopping` told it to end.
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="lab-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.lab.close()
                raise LabServerError(f"the lab could not listen on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._app is not None:
            self._app.state.stopping.set()  # event streams and held requests end now
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.lab is not None:
            self.lab.close()
            save(self.lab)  # timers stopped: this is the state it ends in

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
