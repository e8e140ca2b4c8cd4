"""Logging for the commands that run a manager (serve, demo)."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if logging.getLogger().level > logging.DEBUG:
        # sushy logs an ERROR and a WARNING each time it logs in to a BMC without a
        # SessionService (sushy-tools, older iLO and iDRAC firmware) and falls back to basic
        # auth, which is a normal outcome. The Redfish driver logs every real failure itself.
        logging.getLogger("sushy").setLevel(logging.CRITICAL)
