"""The monitor and the intake with the Redfish driver against the lab: pushed events POSTed
by the lab to a manager API served on loopback, the SSE stream resumed after it was cut,
and a fault whose push the lab dropped still found by the next poll."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kanri.api.app import create_app
from kanri.domain.faults import EventState, FaultEvent, Source
from kanri.domain.model import Bmc, Machine
from kanri.engine.intake import IntakeOptions, Mode
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.monitor import MonitorOptions
from kanri.lab.config import LabConfig
from kanri.lab.model.faults import fail_component
from kanri.lab.model.systems import ComponentKind
from kanri.lab.server import LabServer
from kanri.lab.sushy_emulator import free_port
from kanri.settings import Settings
from kanri.store.monitor_repo import MonitorRepository, Subscription
from tests.integration.conftest import TEST_OPTIONS
from tests.waiting import wait_for

LAB: dict[str, Any] = {
    "scale": 50.0,
    "machines": [{"id": f"m{i}", "power": "On"} for i in range(1, 4)],
}
CHANGED = "The health of resource 'DIMM3' has changed to Critical."


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    with LabServer(LabConfig.from_dict(LAB), tmp_path / "lab") as server:
        yield server


@pytest.fixture
def control(lab: LabServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lab.url, auth=("admin", "password"), timeout=10) as client:
        yield client


def _manager(tmp_path: Path, intake: IntakeOptions) -> Manager:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    options = ManagerOptions(
        workers=4,
        operator_workers=2,
        drivers=TEST_OPTIONS,
        run_sync=False,
        run_scheduler=False,
        run_delivery=False,
        monitor=MonitorOptions(interval=3600),  # the tests poll by hand
        intake=intake,
    )
    return Manager(settings, options)


class Api:
    """The manager's API served by uvicorn on a loopback port, for the lab to POST to."""

    def __init__(self, manager: Manager, port: int) -> None:
        config = uvicorn.Config(
            create_app(manager, manage_lifecycle=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Api:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def pushing(tmp_path: Path, lab: LabServer) -> Iterator[Manager]:
    port = free_port()
    manager = _manager(tmp_path, IntakeOptions(push_url=f"http://127.0.0.1:{port}"))
    api = Api(manager, port)
    try:
        with api:
            _add(manager, lab)
            yield manager
    finally:
        manager.stop()


@pytest.fixture
def streaming(tmp_path: Path, lab: LabServer) -> Iterator[Manager]:
    manager = _manager(tmp_path, IntakeOptions(retry=0.2))
    try:
        _add(manager, lab)
        yield manager
    finally:
        manager.stop()


def _add(manager: Manager, lab: LabServer) -> None:
    manager.machines.add("lab", Bmc(lab.url, "admin", "password"), driver="redfish")
    first_look(manager)


def first_look(manager: Manager) -> list[object]:
    listing = manager.repo.machines_with_bmcs()
    machines: list[Machine] = [m for m, _ in listing]
    return list(manager.monitor.poll_bmc(listing[0][1], machines).observations)


def hw_events(manager: Manager) -> list[FaultEvent]:
    return manager.events.list(kind_prefix="hw.")


def sel_messages(event: FaultEvent) -> list[str]:
    return [line["message"] for line in event.diagnostics.get("sel", [])]


def subscription(manager: Manager) -> Subscription | None:
    return next(iter(MonitorRepository(manager.db).subscriptions().values()), None)


def fail_dimm3(lab: LabServer, machine: str) -> None:
    assert lab.lab is not None
    fail_component(lab.lab, machine, ComponentKind.DIMM, "DIMM3")  # critical


def test_a_pushed_fault_is_an_event_at_once_and_an_early_poll_adds_the_sel(
    pushing: Manager, lab: LabServer, control: httpx.Client
) -> None:
    pushing.intake.arrange()
    sub = subscription(pushing)
    assert sub is not None
    assert sub.mode == Mode.PUSH
    held = control.get("/redfish/v1/EventService/Subscriptions").json()["Members"]
    assert [m["@odata.id"] for m in held] == [sub.uri]

    fail_dimm3(lab, "m2")
    wait_for(lambda: len(hw_events(pushing)) == 1, timeout=15)
    [event] = hw_events(pushing)
    assert (event.target, event.component, event.source) == ("lab-m2", "DIMM3", Source.PUSH)

    pushing.monitor.run_early()  # the loop's next tick
    wait_for(lambda: CHANGED in sel_messages(hw_events(pushing)[0]), timeout=15)
    [event] = hw_events(pushing)
    assert event.count == 2
    assert first_look(pushing) == []  # the next round: nothing new
    assert [e.id for e in hw_events(pushing)] == [event.id]

    cleared = control.delete("/lab/v1/faults", params={"target": "m2"})
    assert cleared.status_code == 200, cleared.text
    wait_for(lambda: hw_events(pushing)[0].state is EventState.CLEARED, timeout=15)
    pushing.intake.arrange()  # a recheck keeps the standing subscription
    assert subscription(pushing) == sub


def test_a_dropped_push_still_becomes_the_event_by_polling(
    pushing: Manager, lab: LabServer, control: httpx.Client
) -> None:
    pushing.intake.arrange()
    dropped = control.post("/lab/v1/faults", json={"kind": "drop-events", "all": True})
    assert dropped.status_code == 201, dropped.text
    fail_dimm3(lab, "m3")
    assert lab.lab is not None
    with lab.lab.lock:
        kinds = [r.kind for r in lab.lab.history.since(0)]
    assert "event.dropped" in kinds
    assert hw_events(pushing) == []  # nothing came

    assert len(first_look(pushing)) == 1  # the BMC's next round
    [event] = hw_events(pushing)
    assert (event.target, event.component, event.source) == ("lab-m3", "DIMM3", Source.POLL)
    assert sel_messages(event) == [CHANGED]


def _live(manager: Manager, control: httpx.Client) -> bool:
    """A harmless test event: once the reader has stored its id, the stream listens."""
    answer = control.post(
        "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
        json={"Message": "ping", "MessageSeverity": "OK"},
    )
    assert answer.status_code == 204, answer.text
    sub = subscription(manager)
    return sub is not None and sub.last_event_id is not None


def test_the_stream_resumes_after_it_was_cut_without_losing_a_fault(
    streaming: Manager, lab: LabServer, control: httpx.Client
) -> None:
    streaming.intake.arrange()
    wait_for(lambda: _live(streaming, control), timeout=15, interval=0.1)
    fail_dimm3(lab, "m1")
    wait_for(lambda: len(hw_events(streaming)) == 1, timeout=15)
    [event] = hw_events(streaming)
    assert (event.target, event.source) == ("lab-m1", Source.STREAM)

    streaming.intake.stop()  # the stream is cut (a restart, a network drop)
    assert streaming.intake._streams == {}
    fail_dimm3(lab, "m2")  # while nobody reads
    streaming.intake.start()
    streaming.intake.arrange()
    wait_for(lambda: len(hw_events(streaming)) == 2, timeout=15)
    newest = hw_events(streaming)[0]
    assert (newest.target, newest.component, newest.source) == ("lab-m2", "DIMM3", Source.STREAM)
    sub = subscription(streaming)
    assert sub is not None
    assert sub.mode == Mode.STREAM
