"""The lab's clock: lab time runs ``scale`` times faster than real time.

Every duration in the lab (power transitions, boot, BMC latency) is given in lab seconds,
so a test of a minute-long behaviour runs in seconds with ``scale=20``. Timers fire on one
scheduler thread, in order, under the lab's lock (taken by the callbacks themselves).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MAX_WAIT = 3600.0  # real seconds the scheduler sleeps at most before looking again


class LabClock:
    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._real0 = time.monotonic()
        self._wall0 = datetime.now(UTC)

    def now(self) -> float:
        """Lab seconds since the lab started."""
        return (time.monotonic() - self._real0) * self.scale

    def wall(self) -> datetime:
        """The lab's own wall-clock time (it runs fast too), for timestamps it reports."""
        return self._wall0 + timedelta(seconds=self.now())

    def real(self, lab_seconds: float) -> float:
        """How many real seconds ``lab_seconds`` take."""
        return max(0.0, lab_seconds) / self.scale

    def sleep(self, lab_seconds: float) -> None:
        time.sleep(self.real(lab_seconds))


@dataclass(order=True)
class Timer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Runs callbacks at lab times on one daemon thread."""

    def __init__(self, clock: LabClock) -> None:
        self.clock = clock
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="lab-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, lab_delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(self.clock.now() + max(0.0, lab_delay), next(self._seq), callback)
        with self._cond:
            heapq.heappush(self._heap, timer)
            self._cond.notify()
        return timer

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0].due <= self.clock.now():
                        break
                    wait = (
                        # capped: a very slow clock must not overflow the platform's timeout
                        min(self.clock.real(self._heap[0].due - self.clock.now()), MAX_WAIT)
                        if self._heap
                        else None
                    )
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                try:
                    timer.callback()
                except Exception:  # one bad timer must not stop the lab's time
                    import logging

                    logging.getLogger("kanri.lab").exception("lab timer failed")
