"""Driver calls run here: a bounded worker pool, never the thread serving the API.

The per-BMC cap lives in the drivers (they know what a BMC is); this pool bounds how many
driver calls a manager has in flight at all.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class DriverCalls:
    def __init__(self, workers: int = 32) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kanri-driver")

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        return self._pool.submit(fn, *args)

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run one call in the pool and wait for it; its exception is raised here."""
        return self._pool.submit(fn, *args).result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
