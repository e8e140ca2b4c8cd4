"""The lab's scheduler keeps running whatever its clock's scale: a timer due in a lab
second that a very slow clock makes a near-eternity still lets later timers run."""

from __future__ import annotations

import threading

from kanri.lab.clock import LabClock, Scheduler


def test_a_timer_due_beyond_any_wait_does_not_stop_the_scheduler() -> None:
    scheduler = Scheduler(LabClock(scale=1e-300))  # one lab second: 1e300 real ones
    try:
        first = threading.Event()

        def far_timer_then_go_on() -> None:
            # Pushed from the scheduler's own thread, so its next wait is for this timer.
            scheduler.call_later(1.0, lambda: None)
            first.set()

        scheduler.call_later(0.0, far_timer_then_go_on)
        assert first.wait(10)
        ran = threading.Event()
        scheduler.call_later(0.0, ran.set)
        assert ran.wait(10), "the scheduler stopped"
    finally:
        scheduler.stop()
