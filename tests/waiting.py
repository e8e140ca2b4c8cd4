"""Polling with a deadline: how tests wait for lab time to pass, never with a bare sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext


def wait_for(
    check: Callable[[], bool],
    timeout: float = 10.0,
    lock: threading.RLock | None = None,
    interval: float = 0.005,
) -> None:
    """Until ``check()`` is true; under ``lock`` when given, so a lab timer is never seen
    half-way through its change."""
    deadline = time.monotonic() + timeout
    while True:
        with lock if lock is not None else nullcontext():
            if check():
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout:g}s")
        time.sleep(interval)
