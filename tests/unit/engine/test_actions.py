"""Action kinds: the registry, commands (stdin, exit codes, the timeout that kills the
process group), power actions as jobs, notifications through the notifier drivers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.deliveries import Delivery, DeliveryState
from kanri.domain.errors import Conflict, NotFound, NotifyError, NotifyRefused, NotifyTimedOut
from kanri.domain.faults import EventState, FaultEvent, Severity, Source
from kanri.domain.jobs import Job, JobState
from kanri.domain.notify import SmtpServer
from kanri.drivers.notify import FakeNotifier
from kanri.drivers.registry import Drivers
from kanri.engine.actions import ActionContext, ActionRegistry, Done, run_command
from tests.waiting import wait_for

AT = datetime(2026, 5, 1, tzinfo=UTC)
EVENT = FaultEvent(
    id=41,
    key="blade-05|hw.component|DIMM3",
    kind="hw.component",
    severity=Severity.CRITICAL,
    state=EventState.OPEN,
    source=Source.PUSH,
    target="blade-05",
    component="DIMM3",
    message="DIMM3 critical",
    first_at=AT,
    last_at=AT,
    count=1,
    affected=("app-1",),
)


def _delivery(kind: str, params: dict[str, Any], did: int = 9) -> Delivery:
    return Delivery(
        id=did, event_id=EVENT.id, rule="page", action_index=0, trigger="new", kind=kind,
        params=params, state=DeliveryState.RUNNING, attempts=1, next_at=None, holder="m",
        lease_until=None, last_error="",
    )  # fmt: skip


class Jobs:
    def __init__(self, refuse: Exception | None = None) -> None:
        self.submitted: list[tuple[str, list[str], dict[str, Any]]] = []
        self.refuse = refuse

    def submit(self, kind: str, targets: list[str], params: dict[str, Any] | None = None) -> Job:
        if self.refuse is not None:
            raise self.refuse
        self.submitted.append((kind, targets, dict(params or {})))
        return Job(id=77, kind=kind, targets=tuple(targets), params={}, state=JobState.PENDING)


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers()
    yield drivers
    drivers.close()


def _registry(drivers: Drivers, **kw: Any) -> ActionRegistry:
    return ActionRegistry(ActionContext(drivers, **kw))


def test_the_built_in_kinds_are_registered_by_entry_point(drivers: Drivers) -> None:
    kinds = _registry(drivers).kinds()
    assert {"email", "webhook", "syslog", "reboot", "power_off", "command"} <= set(kinds)


# commands ---------------------------------------------------------------------------


def test_a_command_gets_the_event_on_stdin_and_its_output_is_recorded(drivers: Drivers) -> None:
    script = (
        "import json,os,sys; e=json.load(sys.stdin); "
        "print(e['kind'], e['affected'], os.environ['KANRI_EVENT_TARGET'])"
    )
    receipt = _registry(drivers).get("command").run(EVENT, {"argv": [sys.executable, "-c", script]})
    assert (
        receipt
        == "command " + sys.executable + " exited 0; stdout: hw.component ['app-1'] blade-05"
    )


def test_a_command_does_not_inherit_the_manager_s_settings(
    drivers: Drivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANRI_SMTP_PASSWORD", "s3cret")
    script = "import os; print(sorted(k for k in os.environ if k.startswith('KANRI_')))"
    receipt = _registry(drivers).get("command").run(EVENT, {"argv": [sys.executable, "-c", script]})
    assert "s3cret" not in receipt
    assert "KANRI_SMTP_PASSWORD" not in receipt
    assert "KANRI_EVENT_ID" in receipt


def test_a_failing_command_says_its_exit_code_and_stderr(drivers: Drivers) -> None:
    action = _registry(drivers).get("command")
    assert action.retries is False
    assert action.idempotent is False
    script = "import sys; sys.stderr.write('disk full\\n'); sys.exit(3)"
    with pytest.raises(NotifyError, match=r"exited 3; stderr: disk full$"):
        action.run(EVENT, {"argv": [sys.executable, "-c", script]})


def test_a_missing_program_is_refused(drivers: Drivers) -> None:
    with pytest.raises(NotifyRefused, match="No such file or directory"):
        _registry(drivers).get("command").run(EVENT, {"argv": ["/nonexistent/notify-ops"]})


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has died


def test_a_hung_command_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # The shell starts a child that would outlive it, then hangs itself.
    argv = ["sh", "-c", f"sleep 300 & echo $! > {pidfile}; echo started; sleep 300"]
    with pytest.raises(NotifyTimedOut, match=r"killed after 0.5s; stdout: started"):
        run_command(argv, b"{}", 0.5, dict(os.environ))
    child = int(pidfile.read_text())
    wait_for(lambda: not _alive(child), timeout=5)


def test_a_command_that_ignores_its_stdin_still_succeeds() -> None:
    assert run_command(["true"], b"x" * 1_000_000, 5, dict(os.environ)) == "command true exited 0"


# power ------------------------------------------------------------------------------


def test_reboot_submits_a_power_job_on_the_event_s_target(drivers: Drivers) -> None:
    jobs = Jobs()
    registry = _registry(drivers, jobs=jobs)
    action = registry.get("reboot")
    done = registry.carry_out(action, EVENT, _delivery("reboot", {}))
    assert done == Done("power job 77 accepted: restart blade-05", "77")
    assert jobs.submitted == [("power", ["blade-05"], {"action": "restart"})]
    assert action.idempotent is False


@pytest.mark.parametrize(("params", "want"), [({}, "off"), ({"graceful": False}, "force_off")])
def test_power_off(drivers: Drivers, params: dict[str, Any], want: str) -> None:
    jobs = Jobs()
    _registry(drivers, jobs=jobs).get("power_off").run(EVENT, params)
    assert jobs.submitted == [("power", ["blade-05"], {"action": want})]


def test_a_power_action_on_an_unknown_machine_is_refused_and_a_busy_one_retried(
    drivers: Drivers,
) -> None:
    with pytest.raises(NotifyRefused, match="reboot blade-05: no machine"):
        _registry(drivers, jobs=Jobs(NotFound("no machine blade-05"))).get("reboot").run(EVENT, {})
    with pytest.raises(NotifyError) as caught:
        _registry(drivers, jobs=Jobs(Conflict("busy"))).get("reboot").run(EVENT, {})
    assert caught.value.retry is True


# notifications ----------------------------------------------------------------------


def test_a_webhook_goes_through_the_registered_notifier(
    drivers: Drivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry(drivers)
    action = registry.get("webhook")
    monkeypatch.setattr(action, "driver", "fake")
    done = registry.carry_out(action, EVENT, _delivery("webhook", {"url": "http://x/"}, did=12))
    assert done.receipt == "recorded as message 1"
    [sent] = FakeNotifier(drivers.context).sent
    assert (sent.delivery_id, sent.rule, sent.params) == (12, "page", {"url": "http://x/"})
    assert sent.event["id"] == 41
    assert json.dumps(sent.event)
    assert sent.subject.startswith("[kanri] CRITICAL hw.component DIMM3 on blade-05")


def test_email_without_an_smtp_server_is_refused(drivers: Drivers) -> None:
    with pytest.raises(NotifyRefused, match="no SMTP server is configured: set KANRI_SMTP_HOST"):
        _registry(drivers).get("email").run(EVENT, {"to": ["ops@example.com"]})


def test_email_carries_the_manager_s_server(
    drivers: Drivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SmtpServer("mail", 25, "kanri@mail")
    registry = _registry(drivers, smtp=lambda: server)
    action = registry.get("email")
    monkeypatch.setattr(action, "driver", "fake")
    action.run(EVENT, {"to": ["ops@example.com"], "subject": "DIMM"})
    [sent] = FakeNotifier(drivers.context).sent
    assert sent.smtp == server
    assert sent.subject == "DIMM"
