"""Rules: which fault events they match and the actions they run, in order.

The action kinds are open: a later piece (failover) adds its own. Each kind validates its
own parameters where it is carried out (engine/actions); here an action is its kind and
its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ActionSpec:
    kind: str  # email, webhook, syslog, reboot, power_off, command, (failover) ...
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fires for an event: the actions to run, and why it fired."""

    rule: str
    trigger: str  # "new", "escalated:critical", ...: one firing per (event, rule, trigger)
    actions: tuple[ActionSpec, ...]
