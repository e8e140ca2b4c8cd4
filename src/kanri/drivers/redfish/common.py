"""What the Redfish power and inventory drivers share: one session pool per manager, and
what is known of each system's Reset action (``actions.py``)."""

from __future__ import annotations

from kanri.drivers.redfish.actions import ResetActions
from kanri.drivers.redfish.sessions import SessionPool
from kanri.drivers.registry import DriverContext

SHARED_KEY = "redfish.sessions"
RESET_ACTIONS_KEY = "redfish.reset_actions"


class RedfishDriverBase:
    """Takes one :class:`DriverContext`; every Redfish driver of it uses the same pool,
    so a BMC sees one session from one manager whichever capability is asking."""

    def __init__(self, context: DriverContext) -> None:
        self.options = context.options
        self.sessions: SessionPool = context.shared(
            SHARED_KEY, lambda: SessionPool(context.options)
        )
        self.resets: ResetActions = context.shared(RESET_ACTIONS_KEY, ResetActions)

    def close(self) -> None:
        """Log out of every BMC. Safe to call twice; the pool reconnects if used again."""
        self.sessions.close()
