"""One operation at a time per target, within this manager.

Two operators resetting one machine at once would reset it twice, and a machine removed
while its power command is in flight would leave the command's outcome nowhere. Locks
held in the store, with leases, so that several managers exclude each other too, come
with the durable job engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kanri.domain.errors import Conflict


class TargetLocks:
    def __init__(self) -> None:
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, target: str, purpose: str) -> Iterator[None]:
        """Hold ``target`` for ``purpose``; :class:`Conflict` at once if it is held."""
        with self._lock:
            busy = self._held.get(target)
            if busy is not None:
                raise Conflict(f"{target} is busy ({busy}); try again when that ends")
            self._held[target] = purpose
        try:
            yield
        finally:
            with self._lock:
                del self._held[target]
