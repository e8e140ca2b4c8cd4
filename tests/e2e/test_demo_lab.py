"""`kanri demo` end to end: the lab and the manager in one process, driven only through
the CLI, as the README tells an operator to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.server import free_port
from tests.e2e.conftest import Cli

SYSTEMS = 17  # the default lab: 10 machines and 7 partitions
SCALE = "20"  # lab seconds per real second


class Demo:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port, self.lab_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lab_url = f"http://127.0.0.1:{self.lab_port}"
        self.log = data_dir.parent / "demo.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.cli = Cli(self.url, data_dir, {"KANRI_LAB_URL": self.lab_url})

    def start(self) -> None:
        args = [
            "demo", "--data-dir", str(self.data_dir), "--port", str(self.port),
            "--lab-port", str(self.lab_port), "--scale", SCALE,
        ]  # fmt: skip
        seen = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kanri", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("KANRI_")},
            )
        # Up when the demo has printed its table: everything is registered by then.
        wait_until(lambda: b"Ctrl-C stops the demo" in self.log.read_bytes()[seen:], self.log, 90)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def json(self, *args: str) -> Any:
        run = self.cli(*args, "-o", "json")
        assert run.code == 0, run.err
        return json.loads(run.out)


def wait_until(check: Callable[[], bool], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached in {timeout:g}s; log:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    demo = Demo(tmp_path / "demo")
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


def lab_system(demo: Demo, system_id: str) -> dict[str, Any]:
    state = demo.json("lab", "status")
    return next(s for s in state["systems"] if s["id"] == system_id)


def test_the_demo_registers_every_machine_and_partition_with_their_hosts(demo: Demo) -> None:
    machines = {m["name"]: m for m in demo.json("machine", "list")}
    assert len(machines) == SYSTEMS
    kinds = [m["kind"] for m in machines.values()]
    assert kinds.count("machine") == 10
    assert kinds.count("partition") == 7
    assert machines["app-1"]["host_system_id"] == "blade-05"
    assert machines["ci-3"]["host_system_id"] == "blade-06"
    assert machines["blade-01"]["power"] == "on"
    assert machines["blade-07"]["power"] == "off"
    volumes = demo.json("volume", "list")
    assert {v["id"] for v in volumes} >= {"vol-web-1", "vol-app-1", "vol-ci-3"}
    table = demo.cli("machine", "list")
    assert "partition" in table.out
    assert "blade-05" in table.out


def test_power_through_the_cli_reaches_the_lab(demo: Demo) -> None:
    run = demo.cli("power", "off", "app-1", "--force", "--wait")
    assert run.code == 0, run.err
    assert lab_system(demo, "app-1")["power"] == "Off"
    run = demo.cli("power", "on", "app-1", "--wait")
    assert run.code == 0, run.err
    wait_until(lambda: lab_system(demo, "app-1")["booted_volume"] == "vol-app-1", demo.log)


def test_an_injected_fault_shows_in_the_machines_health(demo: Demo) -> None:
    run = demo.cli("lab", "inject", "component", "blade-03", "cpu")
    assert run.code == 0, run.err
    assert demo.cli("machine", "refresh", "blade-03").code == 0
    assert demo.json("machine", "show", "blade-03")["health"] == "critical"
    assert demo.json("machine", "show", "blade-04")["health"] == "ok"


def test_the_lab_and_the_registrations_survive_a_restart(demo: Demo) -> None:
    run = demo.cli("power", "off", "ci-1", "--force", "--wait")
    assert run.code == 0, run.err
    demo.stop()
    demo.start()
    assert lab_system(demo, "ci-1")["power"] == "Off"
    assert lab_system(demo, "ci-2")["power"] == "On"
    assert len(demo.json("machine", "list")) == SYSTEMS
    assert httpx.get(f"{demo.url}/openapi.json").status_code == 200
