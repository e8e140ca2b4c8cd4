"""A notifier that records what it was asked to send, for tests and dry runs.

One list per manager (shared through the driver context): ``FakeNotifier.sent``. Set
``fail_with`` to an exception to make the next sends fail with it.
"""

from __future__ import annotations

import threading

from kanri.domain.notify import Notification
from kanri.drivers.registry import DriverContext


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail_with: Exception | None = None
        self.lock = threading.Lock()


class FakeNotifier:
    def __init__(self, context: DriverContext) -> None:
        self.outbox = context.shared("notify.fake", FakeOutbox)

    @property
    def sent(self) -> list[Notification]:
        with self.outbox.lock:
            return list(self.outbox.sent)

    def send(self, message: Notification) -> str:
        with self.outbox.lock:
            if self.outbox.fail_with is not None:
                raise self.outbox.fail_with
            self.outbox.sent.append(message)
            return f"recorded as message {len(self.outbox.sent)}"

    def close(self) -> None:
        pass
