"""What a rule's action does, by kind: a registry filled from the ``kanri.actions`` entry
point group (email, webhook, syslog, reboot, power_off, command; failover comes from a
later package the same way). See docs/notifications.md.

An action is a class taking one :class:`ActionContext`, with ``run(event, params) -> str``
(a receipt for the attempt log; a failure raises, a ``NotifyError`` saying whether to try
again). Two class attributes tell the delivery service how to treat it:

``retries``     a failed attempt is tried again with backoff (False: the first failure is
                final; a failed command is not run again by default).
``idempotent``  an attempt cut short by a manager's death may be repeated (False: it is
                not, because it may already have acted: a reboot, a command).

Built-ins also have ``deliver(event, params, delivery)``, which knows the delivery (its id
for webhook receivers, the rule for the message) and may return :class:`Done` with a job id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, cast

from kanri.domain.deliveries import Delivery
from kanri.domain.errors import (
    Conflict,
    Invalid,
    KanriError,
    NotFound,
    NotifyError,
    NotifyRefused,
    NotifyTimedOut,
)
from kanri.domain.faults import FaultEvent
from kanri.domain.jobs import Job
from kanri.domain.notify import Notification, SmtpServer, body_of, event_document, subject_of
from kanri.drivers.registry import Drivers

log = logging.getLogger(__name__)

GROUP = "kanri.actions"
COMMAND_TIMEOUT = 60.0
TAIL = 500  # characters of a command's stdout and stderr kept in the log


@dataclass(frozen=True, slots=True)
class Done:
    """What an action did, when there is more to say than a receipt."""

    receipt: str
    job_id: str | None = None


class JobSubmitter(Protocol):
    """What power actions need of the job service."""

    def submit(
        self, kind: str, targets: list[str], params: dict[str, Any] | None = None
    ) -> Job: ...


@dataclass(frozen=True, slots=True)
class ActionContext:
    drivers: Drivers
    smtp: Callable[[], SmtpServer | None] = lambda: None
    jobs: JobSubmitter | None = None


class Action(Protocol):
    retries: bool
    idempotent: bool

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str: ...


Factory = Callable[[ActionContext], Action]


def available() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


class ActionRegistry:
    """The action kinds of one manager, made on first use."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context
        self._made: dict[str, Action] = {}
        self._factories: dict[str, Factory] = {}
        self._lock = threading.Lock()

    def register(self, kind: str, factory: Factory) -> None:
        """Add (or replace) a kind by hand: tests, and kinds that are not packaged."""
        with self._lock:
            self._factories[kind] = factory
            self._made.pop(kind, None)

    def kinds(self) -> list[str]:
        return sorted(set(available()) | set(self._factories))

    def get(self, kind: str) -> Action:
        with self._lock:
            if kind not in self._made:
                self._made[kind] = self._factory(kind)(self.context)
            return self._made[kind]

    def _factory(self, kind: str) -> Factory:
        if kind in self._factories:
            return self._factories[kind]
        for ep in entry_points(group=GROUP, name=kind):
            return cast(Factory, ep.load())
        known = ", ".join(self.kinds()) or "none"
        raise Invalid(f"unknown action kind {kind!r}; known: {known}")

    def carry_out(self, action: Action, event: FaultEvent, delivery: Delivery) -> Done:
        """Run ``action`` for ``delivery``; its receipt (and job id) as :class:`Done`."""
        deliver = getattr(action, "deliver", None)
        if callable(deliver):
            result = deliver(event, delivery.params, delivery)
        else:
            result = action.run(event, delivery.params)
        return result if isinstance(result, Done) else Done(str(result))


# notifications ------------------------------------------------------------------------


class _Notify:
    driver = ""
    retries = True
    idempotent = True  # a notification twice is better than none: receivers dedupe by id

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def message(
        self, event: FaultEvent, params: dict[str, Any], delivery: Delivery | None
    ) -> Notification:
        rule = delivery.rule if delivery else ""
        trigger = delivery.trigger if delivery else ""
        return Notification(
            subject=str(params.get("subject") or subject_of(event)),
            body=body_of(event, rule, trigger),
            event=event_document(event),
            params=dict(params),
            rule=rule,
            trigger=trigger,
            delivery_id=delivery.id if delivery else None,
        )

    def deliver(self, event: FaultEvent, params: dict[str, Any], delivery: Delivery | None) -> str:
        notifier = self.context.drivers.notifier(self.driver)
        return notifier.send(self.message(event, params, delivery))

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str:
        return self.deliver(event, params, None)


class EmailAction(_Notify):
    """``email {to: [addr..], subject?}`` through the manager's SMTP server (KANRI_SMTP_*)."""

    driver = "smtp"

    def message(
        self, event: FaultEvent, params: dict[str, Any], delivery: Delivery | None
    ) -> Notification:
        server = self.context.smtp()
        if server is None:
            raise NotifyRefused("no SMTP server is configured: set KANRI_SMTP_HOST")
        base = super().message(event, params, delivery)
        return Notification(
            subject=base.subject,
            body=base.body,
            event=base.event,
            params=base.params,
            rule=base.rule,
            trigger=base.trigger,
            delivery_id=base.delivery_id,
            smtp=server,
        )


class WebhookAction(_Notify):
    """``webhook {url, secret?, timeout?}``: the event as JSON, signed with the secret."""

    driver = "webhook"


class SyslogAction(_Notify):
    """``syslog {address?, protocol?, facility?}``: one RFC 5424 line."""

    driver = "syslog"


# power --------------------------------------------------------------------------------


class _Power:
    retries = True
    idempotent = True
    verb = ""

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def job_params(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def deliver(self, event: FaultEvent, params: dict[str, Any], delivery: Delivery | None) -> Done:
        """Submit a ``power`` job on the event's target. Done when the job is accepted:
        the job engine journals and resumes it (``kanri job show ID`` follows it)."""
        if self.context.jobs is None:
            raise NotifyError("the job service is not running")
        if not event.target:
            raise NotifyRefused(f"event {event.id} has no target machine to {self.verb}")
        job_params = self.job_params(params)
        try:
            job = self.context.jobs.submit("power", [event.target], job_params)
        except (NotFound, Invalid) as exc:
            raise NotifyRefused(f"{self.verb} {event.target}: {exc}") from None
        except Conflict as exc:
            raise NotifyError(f"{self.verb} {event.target}: {exc}") from None
        except KanriError as exc:
            raise NotifyError(f"{self.verb} {event.target}: {exc}") from None
        action = job_params["action"]
        return Done(f"power job {job.id} accepted: {action} {event.target}", str(job.id))

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str:
        return self.deliver(event, params, None).receipt


class RebootAction(_Power):
    """``reboot {}``: a graceful restart of the event's target, as a power job.

    Not idempotent: a reboot whose attempt a manager's death cut short is not repeated
    (the job may have been submitted already); its record says so.
    """

    idempotent = False
    verb = "reboot"

    def job_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"action": "restart"}


class PowerOffAction(_Power):
    """``power_off {graceful?: true}``: off (graceful) or force_off, as a power job. Safe to
    repeat: a power job does nothing to a machine that is already off."""

    verb = "power off"

    def job_params(self, params: dict[str, Any]) -> dict[str, Any]:
        graceful = params.get("graceful", True)
        return {"action": "off" if graceful is not False else "force_off"}


# command ------------------------------------------------------------------------------


def _tail(data: bytes) -> str:
    text = data.decode(errors="replace").strip()
    return text if len(text) <= TAIL else "…" + text[-TAIL:]


def run_command(argv: list[str], stdin: bytes, timeout: float, env: dict[str, str]) -> str:
    """Run ``argv`` (no shell) in a process group of its own, ``stdin`` on its standard
    input. At the timeout the whole group is killed. Non-zero exit raises."""
    name = argv[0] if argv else "?"
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise NotifyRefused(f"command {name}: {exc.strerror or exc}") from None
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        try:
            out, err = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a child that left the group still holds a pipe
            out, err = b"", b""
        raise NotifyTimedOut(
            f"command {name} killed after {timeout:g}s" + _said(out, err)
        ) from None
    if process.returncode != 0:
        raise NotifyError(f"command {name} exited {process.returncode}" + _said(out, err))
    return f"command {name} exited 0" + _said(out, err)


def _said(out: bytes, err: bytes) -> str:
    parts = [
        f"{label}: {_tail(data)}"
        for label, data in (("stdout", out), ("stderr", err))
        if data.strip()
    ]
    return ("; " + "; ".join(parts)) if parts else ""


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class CommandAction:
    """``command {argv: [..], timeout?: 60}``: an operator's program with the event as JSON
    on standard input (and ``KANRI_EVENT_ID``, ``KANRI_EVENT_KIND``, ``KANRI_EVENT_TARGET``,
    ``KANRI_EVENT_SEVERITY`` in its environment). A failure is not retried, and an attempt
    cut short by a manager's death is not repeated: a command need not be safe to repeat."""

    retries = False
    idempotent = False

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str:
        argv = params.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise NotifyRefused("a command action needs 'argv': a list of strings")
        timeout = params.get("timeout", COMMAND_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise NotifyRefused("a command's 'timeout' is a number of seconds above 0")
        # The manager's own settings (an SMTP password, a database URL) are not the command's.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KANRI_")}
        env.update(
            KANRI_EVENT_ID=str(event.id),
            KANRI_EVENT_KIND=event.kind,
            KANRI_EVENT_TARGET=event.target or "",
            KANRI_EVENT_SEVERITY=event.severity.value,
        )
        stdin = json.dumps(event_document(event), sort_keys=True).encode() + b"\n"
        return run_command([str(a) for a in argv], stdin, float(timeout), env)
