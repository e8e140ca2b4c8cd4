"""Each system's ``ComputerSystem.Reset`` action, remembered so that a power command costs
the BMC only what it must: the state read the engine does anyway, and the POST.

A power command is always preceded by a read of the system (the engine re-reads the real
state before acting), and that read already carries the action: its target and its
allowed ``ResetType`` values, or a link to a ``ResetActionInfo`` that lists them. So
:class:`ResetActions` keeps, per (BMC URL, system id):

- the ``Actions`` object of the system document last read, for :data:`FRESH_FOR` seconds:
  a command right after the state read uses it instead of reading the system again;
- the ``ResetType`` values of the system's ``ResetActionInfo``, with no age: an ActionInfo
  describes the action, not the machine's state, so it is read once per system.

Whoever acts forgets both at any error, so that the next command reads them again. Stale
values cannot change what a command means: each action's stand-ins (see ``power.py``)
are the same kind of command (``On``/``ForceOn``, ``ForceRestart``/``PowerCycle``), and
a target or value the BMC no longer takes is refused by it, not misapplied.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sushy.exceptions as sushy_exc

from kanri.drivers.redfish.mapping import JsonDoc, MalformedAnswer

RESET = "#ComputerSystem.Reset"
FRESH_FOR = 30.0  # seconds a system document's Reset action is used without reading it again


@dataclass(frozen=True, slots=True)
class ResetAction:
    """Where to POST a reset, and what the system document says it allows."""

    target: str
    allowed: tuple[str, ...]  # ``ResetType@Redfish.AllowableValues``; () when not annotated
    info: str | None  # the ``@Redfish.ActionInfo`` link, read only when ``allowed`` is ()


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def reset_action_of(actions: Any, system_path: str = "the system") -> ResetAction:
    """The Reset action from a system document's ``Actions`` object.

    Raises sushy's ``MissingActionError`` ("the system offers no ComputerSystem.Reset
    action") or :class:`MalformedAnswer`, which the driver maps to one-line BMC errors.
    """
    element = actions.get(RESET) if isinstance(actions, dict) else None
    if not isinstance(element, dict):
        raise sushy_exc.MissingActionError(action=RESET, resource=system_path)
    target = element.get("target")
    if not isinstance(target, str) or not target:
        raise MalformedAnswer(f"the {RESET} action of {system_path} has no target")
    info = element.get("@Redfish.ActionInfo")
    return ResetAction(
        target,
        _strings(element.get("ResetType@Redfish.AllowableValues")),
        info if isinstance(info, str) and info else None,
    )


def reset_types_of_info(doc: JsonDoc) -> tuple[str, ...]:
    """The ``ResetType`` values an ActionInfo document allows; () when it does not say."""
    parameters = doc.get("Parameters")
    for parameter in parameters if isinstance(parameters, list) else ():
        if isinstance(parameter, dict) and parameter.get("Name") == "ResetType":
            return _strings(parameter.get("AllowableValues"))
    return ()


_Key = tuple[str, str]


class ResetActions:
    """The Reset action of every system the drivers of one manager have read; shared by
    them like the session pool. Thread-safe; the lock is never held across I/O."""

    def __init__(
        self, fresh_for: float = FRESH_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fresh_for = fresh_for
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[_Key, tuple[float, str, Any]] = {}  # when, path, raw Actions
        self._infos: dict[_Key, tuple[str, tuple[str, ...]]] = {}  # ActionInfo URI, values

    def saw(self, bmc_url: str, system_id: str, path: str, doc: JsonDoc) -> None:
        """A system document was just read. Costs a dict store (the sync loop calls it on
        every poll); the action is parsed only when a command needs it."""
        with self._lock:
            self._seen[(bmc_url, system_id)] = (self._clock(), path, doc.get("Actions"))

    def action(self, bmc_url: str, system_id: str) -> ResetAction | None:
        """The action from a document read within :attr:`fresh_for` seconds, else None."""
        with self._lock:
            seen = self._seen.get((bmc_url, system_id))
        if seen is None or self._clock() - seen[0] > self.fresh_for:
            return None
        return reset_action_of(seen[2], seen[1])

    def info(self, bmc_url: str, system_id: str, uri: str) -> tuple[str, ...] | None:
        """The values read from the system's ActionInfo at ``uri``, or None if not read."""
        with self._lock:
            known = self._infos.get((bmc_url, system_id))
        return known[1] if known is not None and known[0] == uri else None

    def remember_info(
        self, bmc_url: str, system_id: str, uri: str, values: tuple[str, ...]
    ) -> None:
        with self._lock:
            self._infos[(bmc_url, system_id)] = (uri, values)

    def forget(self, bmc_url: str, system_id: str) -> None:
        """Drop all that is known of the system's action: read it again next time."""
        with self._lock:
            self._seen.pop((bmc_url, system_id), None)
            self._infos.pop((bmc_url, system_id), None)
