"""Server-Sent Events over a streaming ``requests`` response: frames out, and a stop that
wakes a reader blocked on a quiet stream.

A socket read timeout cannot serve as the wake-up: a timed-out read leaves the HTTP
response unusable (the stream would have to be reopened every few quiet seconds). A small
watcher thread instead waits on ``stop`` and shuts the socket down for reading
(urllib3's ``HTTPResponse.shutdown``), which ends the blocked read at once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

WAKE = 0.2  # seconds between the watcher's looks at whether the stream is still wanted
READ_SIZE = 65536
MAX_FRAME = 1 << 20  # bytes of one frame's data: a stream that never ends a frame is cut

_EOL = re.compile(rb"\r\n|\n|\r")


@dataclass(frozen=True, slots=True)
class Frame:
    id: str | None  # the stream's last event id when the frame was dispatched
    data: str


class SseParser:
    """The event-stream format (WHATWG HTML, "Server-sent events"): lines in any of the
    three line endings, ``data:`` lines joined, ``id:`` kept across frames, comments and
    unknown fields ignored, a blank line dispatches."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._size = 0
        self.last_id: str | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames: list[Frame] = []
        while True:
            match = _EOL.search(self._buffer)
            if match is None:
                break
            if match.group() == b"\r" and match.end() == len(self._buffer):
                break  # maybe the first half of a \r\n split across two reads
            line = self._buffer[: match.start()].decode("utf-8", "replace")
            self._buffer = self._buffer[match.end() :]
            frame = self._line(line)
            if frame is not None:
                frames.append(frame)
        if len(self._buffer) > MAX_FRAME:
            raise ValueError(f"an event-stream line longer than {MAX_FRAME} bytes")
        return frames

    def _line(self, line: str) -> Frame | None:
        if line == "":
            data, self._data, self._size = self._data, [], 0
            return Frame(self.last_id, "\n".join(data)) if data else None
        if line.startswith(":"):
            return None  # a comment: keep-alives
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._size += len(value)
            if self._size > MAX_FRAME:
                raise ValueError(f"an event-stream frame larger than {MAX_FRAME} bytes")
            self._data.append(value)
        elif name == "id" and "\x00" not in value:
            self.last_id = value
        return None


def _interrupt(response: Any) -> None:
    """End a read blocked on ``response`` from another thread."""
    with contextlib.suppress(Exception):
        response.raw.shutdown()
        return
    with contextlib.suppress(Exception):
        response.close()


def frames(response: Any, stop: threading.Event) -> Iterator[Frame]:
    """The frames of a streaming ``requests`` response until the stream ends, breaks or
    ``stop`` is set (then within :data:`WAKE` seconds). The response is closed after."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(WAKE):
                _interrupt(response)
                return

    watcher = threading.Thread(target=watch, name="kanri-sse-stop", daemon=True)
    watcher.start()
    parser = SseParser()
    try:
        while not stop.is_set():
            try:
                chunk = response.raw.read1(READ_SIZE)
            except Exception as exc:  # a dropped connection, a shutdown socket, a timeout
                if not stop.is_set():
                    LOG.info("event stream ended: %s", exc)
                return
            if not chunk:
                return
            yield from parser.feed(chunk)
    finally:
        done.set()
        response.close()
        watcher.join(timeout=1.0)
