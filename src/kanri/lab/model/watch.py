"""The invariant checker on a timer, besides its runs at every boot and SAN change.

Whatever changes state without passing those points (a new handler, a restored lab) is
still caught within a lab second or so.
"""

from __future__ import annotations

import time

from kanri.lab.model.lab import Lab

EVERY = 1.0  # lab seconds between checks
FLOOR = 0.05  # but never more often than this many real seconds (fast clocks)
SHARE = 0.05  # and at most this share of real time spent checking (big labs)


def watch_invariants(lab: Lab) -> None:
    """Run ``lab.check_invariants()`` every lab second until the lab closes."""

    def tick() -> None:
        started = time.monotonic()
        try:
            lab.check_invariants()
        finally:
            took = time.monotonic() - started
            lab.scheduler.call_later(_delay(lab, took), tick)

    lab.scheduler.call_later(_delay(lab, 0.0), tick)


def _delay(lab: Lab, took: float) -> float:
    return max(EVERY, lab.clock.scale * FLOOR, lab.clock.scale * took / SHARE)
