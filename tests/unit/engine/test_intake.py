"""The intake over the fake monitor driver: push subscriptions with a secret per BMC,
streams read (and ended, and given up on), and a pushed event that an early poll grows
with its SEL lines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.errors import NotFound
from kanri.domain.faults import EventState, FaultEvent, Source
from kanri.domain.model import Bmc
from kanri.domain.states import Health
from kanri.drivers.fake.monitor import FakeMonitorWorld, monitor_world_of
from kanri.engine.intake import INTAKE_PATH, Intake, IntakeOptions, Mode
from kanri.engine.manager import Manager, ManagerOptions
from kanri.settings import Settings
from kanri.store.monitor_repo import MonitorRepository, Subscription
from tests.waiting import wait_for

BMC = Bmc("fake://encl?systems=2", "admin", "secret")
PUSH_URL = "http://kanri.test:8642"


def _manager(tmp_path: Path, intake: IntakeOptions) -> Manager:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    options = ManagerOptions(workers=4, operator_workers=2, run_sync=False, intake=intake)
    return Manager(settings, options)


@pytest.fixture
def pushing(tmp_path: Path) -> Iterator[Manager]:
    manager = _manager(tmp_path, IntakeOptions(push_url=PUSH_URL))
    try:
        manager.machines.add("c", BMC, driver="fake")
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def streaming(tmp_path: Path) -> Iterator[Manager]:
    manager = _manager(tmp_path, IntakeOptions(retry=0.05, recheck=3600))
    try:
        manager.machines.add("c", BMC, driver="fake")
        yield manager
    finally:
        manager.stop()


def parts_of(manager: Manager) -> FakeMonitorWorld:
    return monitor_world_of(manager.drivers.context)


def subscription(manager: Manager) -> Subscription:
    return MonitorRepository(manager.db).subscriptions()[BMC.url]


def fault_body(event_id: str, part: str, severity: str = "Critical") -> dict[str, Any]:
    """What the fake BMC POSTs for a part's health change."""
    record = {
        "EventId": event_id,
        "MessageId": f"ResourceEvent.1.4.ResourceStatusChanged{severity}",
        "Severity": severity,
        "Message": f"The health of resource '{part}' has changed to {severity}.",
        "SystemId": "2",
        "Component": part,
    }
    return {"Id": event_id, "Events": [record]}


def hw_events(manager: Manager) -> list[FaultEvent]:
    return manager.events.list(kind_prefix="hw.")


# push ---------------------------------------------------------------------------------


def test_each_bmc_gets_one_subscription_with_its_own_secret(pushing: Manager) -> None:
    pushing.intake.arrange()
    sub = subscription(pushing)
    assert sub.mode == Mode.PUSH
    assert len(sub.secret) >= 24
    held = parts_of(pushing).service(BMC.url).subscriptions
    assert list(held.items()) == [(sub.uri, (f"{PUSH_URL}{INTAKE_PATH}/{sub.secret}", sub.secret))]
    pushing.intake.arrange()  # still there: left alone
    assert subscription(pushing) == sub
    assert len(held) == 1


def test_a_subscription_the_bmc_lost_is_made_again(pushing: Manager) -> None:
    pushing.intake.arrange()
    old = subscription(pushing)
    parts_of(pushing).service(BMC.url).subscriptions.clear()  # e.g. a BMC reset to defaults
    pushing.intake.arrange()
    new = subscription(pushing)
    assert new.uri != old.uri
    assert new.secret != old.secret
    with pytest.raises(NotFound):
        pushing.intake.receive(old.secret, fault_body("1", "DIMM1"))  # the old address


def test_a_wrong_or_empty_secret_is_not_found_and_records_nothing(pushing: Manager) -> None:
    pushing.intake.arrange()
    for secret in ("not-the-secret", "", subscription(pushing).secret[:-1]):
        with pytest.raises(NotFound):
            pushing.intake.receive(secret, fault_body("1", "DIMM1"))
    assert hw_events(pushing) == []


def test_a_push_is_an_event_at_once_and_an_early_poll_adds_its_sel_lines(
    pushing: Manager,
) -> None:
    parts = parts_of(pushing)
    pushing.intake.arrange()
    listing = pushing.repo.machines_with_bmcs()
    pushing.monitor.poll_bmc(listing[0][1], [m for m, _ in listing])  # the first look

    parts.fail_component(BMC.url, "2", "DIMM3")  # a SEL line; its push goes nowhere here
    assert pushing.intake.receive(subscription(pushing).secret, fault_body("7", "DIMM3")) == 1
    [event] = hw_events(pushing)
    assert (event.target, event.component, event.source) == ("c-2", "DIMM3", Source.PUSH)
    assert (event.count, event.diagnostics.get("sel", [])) == (1, [])

    pushing.monitor.run_early()  # what the loop does at its next tick

    def grown() -> bool:
        [now] = hw_events(pushing)
        return now.count == 2

    wait_for(grown)
    [event] = hw_events(pushing)
    assert [line["message"] for line in event.diagnostics["sel"]] == [
        "The health of resource 'DIMM3' has changed to Critical."
    ]
    # The round after finds nothing new: still one event, grown once.
    assert pushing.monitor.poll_bmc(listing[0][1], [m for m, _ in listing]).observations == []
    assert [e.count for e in hw_events(pushing)] == [2]

    # The part's OK event clears it at once.
    pushing.intake.receive(subscription(pushing).secret, fault_body("8", "DIMM3", "OK"))
    [event] = hw_events(pushing)
    assert event.state is EventState.CLEARED


def test_a_push_for_a_system_kanri_does_not_manage_is_ignored(pushing: Manager) -> None:
    pushing.intake.arrange()
    body = fault_body("3", "DIMM1")
    body["Events"][0]["SystemId"] = "99"
    assert pushing.intake.receive(subscription(pushing).secret, body) == 0
    assert hw_events(pushing) == []


# streams ------------------------------------------------------------------------------


def _streams(intake: Intake) -> dict[str, Any]:
    return dict(intake._streams)


def test_a_stream_carries_faults_remembers_where_it_was_and_ends_on_stop(
    streaming: Manager,
) -> None:
    parts = parts_of(streaming)
    intake = streaming.intake
    intake.arrange()
    [(thread, _)] = _streams(intake).values()
    wait_for(lambda: _live(parts, streaming))
    parts.fail_component(BMC.url, "1", "CPU2")
    wait_for(lambda: len(hw_events(streaming)) == 1)
    [event] = hw_events(streaming)
    assert (event.target, event.component, event.source) == ("c-1", "CPU2", Source.STREAM)
    wait_for(lambda: subscription(streaming).last_event_id is not None)
    last = subscription(streaming).last_event_id
    assert subscription(streaming).mode == Mode.STREAM

    intake.stop()
    assert not thread.is_alive()
    assert _streams(intake) == {}
    assert last is not None

    # Missed while nobody read; a new reader resumes after the last id it stored.
    parts.fail_component(BMC.url, "2", "Fan1", Health.WARNING)
    intake.start()
    intake.arrange()
    wait_for(lambda: any(e.component == "Fan1" for e in hw_events(streaming)))
    assert sorted(e.component for e in hw_events(streaming)) == ["CPU2", "Fan1"]


def subscription_or_none(manager: Manager) -> Subscription | None:
    return MonitorRepository(manager.db).subscriptions().get(BMC.url)


def _live(parts: FakeMonitorWorld, manager: Manager) -> bool:
    """A harmless event: once the reader stores its id, the stream is listening."""
    parts.push(BMC.url, None, "Test.1.0.Ping", Health.OK, "ping")
    found = subscription_or_none(manager)
    return found is not None and found.last_event_id is not None


def test_a_bmc_without_a_stream_is_given_up_on_until_the_recheck(
    streaming: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = parts_of(streaming)
    parts.service(BMC.url).sse = False
    calls = []
    driver = streaming.drivers.monitor("fake")
    real = driver.stream

    def counted(bmc: Bmc, last: str | None, stop: threading.Event) -> Any:
        calls.append(last)
        return real(bmc, last, stop)

    monkeypatch.setattr(driver, "stream", counted)
    streaming.intake.arrange()
    wait_for(lambda: subscription_or_none(streaming) is not None)
    wait_for(lambda: _streams(streaming.intake) == {})
    assert subscription(streaming).mode == Mode.NONE
    for _ in range(3):
        streaming.intake.arrange(only_due=True)  # not due again before the recheck
    assert _streams(streaming.intake) == {}
    assert len(calls) == 1


def test_a_stream_that_keeps_failing_backs_off(streaming: Manager) -> None:
    parts = parts_of(streaming)
    parts.world.bmcs[BMC.url].reachable = False
    streaming.intake.arrange()
    wait_for(lambda: streaming.intake._failures.get(BMC.url, 0) >= 3)
    parts.world.bmcs[BMC.url].reachable = True
    # Each wait doubles (0.05, 0.1, 0.2, ...): the stream is open again after a while,
    # and its first event forgets the failures.
    wait_for(lambda: _live(parts, streaming), timeout=10)
    wait_for(lambda: BMC.url not in streaming.intake._failures)


def test_the_stream_of_a_bmc_with_no_machine_left_ends(streaming: Manager) -> None:
    streaming.intake.arrange()
    [(thread, _)] = _streams(streaming.intake).values()
    streaming.machines.remove("c-1")
    streaming.machines.remove("c-2")
    streaming.intake.arrange()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert _streams(streaming.intake) == {}
