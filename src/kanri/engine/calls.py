"""Driver calls run here: a bounded worker pool, never the thread serving the API.

The per-BMC cap lives in the drivers (they know what a BMC is); this pool bounds how many
driver calls a manager has in flight at all.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, TypeVar

from kanri.domain.errors import BmcUnreachable

T = TypeVar("T")


class Endpoint(Protocol):
    """What a driver call is aimed at, known by its URL: a BMC or a storage array."""

    @property
    def url(self) -> str: ...


class DriverCalls:
    def __init__(self, workers: int = 32, deadline: float = 110.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kanri-driver")
        # Below the CLI's 120 s: an operator hears "the BMC did not answer", not "the API".
        self.deadline = deadline

    def submit(self, fn: Callable[..., T], bmc: Endpoint, *args: object) -> Future[T]:
        return self._pool.submit(fn, bmc, *args)

    def run(self, fn: Callable[..., T], bmc: Endpoint, *args: object) -> T:
        """Run one call in the pool and wait for it, at most ``deadline`` seconds.

        Its exception is raised here. Past the deadline the call goes on in the pool (a
        thread cannot be stopped) and the caller gets :class:`BmcUnreachable`.
        """
        future = self._pool.submit(fn, bmc, *args)
        try:
            return future.result(timeout=self.deadline)
        except FutureTimeout:
            raise BmcUnreachable(bmc.url, f"no answer within {self.deadline:g}s") from None

    def shutdown(self) -> None:
        """Stop taking calls; do not wait for calls stuck on a BMC that does not answer."""
        self._pool.shutdown(wait=False, cancel_futures=True)
